namespace Downloads.Redirector.Counting;

/// <summary>
/// What a request got. Every request the redirector answers is counted under exactly one: per day, per
/// country and as a distinct address, and per file when the answer names a manifest file (docs/ops.md,
/// "Counting every request").
/// </summary>
internal enum Outcome
{
    /// <summary>GET redirected to a mirror: a download, and load on that mirror.</summary>
    Mirror,

    /// <summary>GET redirected to the origin or a configured fallback: a download.</summary>
    Fallback,

    /// <summary>HEAD of a file, answered with the redirect a GET would get: not a download, no load.</summary>
    Head,

    /// <summary>A Metalink document: a download (the client spreads it over the mirrors itself, so no load estimate).</summary>
    Metalink,

    /// <summary>The mirror list, HTML or JSON.</summary>
    MirrorList,

    /// <summary>A checksum list or signature (<c>.sha256</c>, <c>SHA256SUMS</c>, <c>.minisig</c>).</summary>
    Checksums,

    /// <summary>A path not in the manifest (no per-file count: such paths are whatever clients send).</summary>
    NotFound,

    /// <summary>A malformed path or query (400).</summary>
    BadRequest,

    /// <summary>Refused with 429 by the per-client rate limit, before any manifest lookup.</summary>
    RateLimited,
}

/// <summary>Names and classes of <see cref="Outcome"/>s: one home for "is this a download?".</summary>
internal static class Outcomes
{
    /// <summary>Number of outcomes.</summary>
    public const int Count = (int)Outcome.RateLimited + 1;

    /// <summary>
    /// Names used in Redis keys, the ops view and the <c>outcome</c> label of <c>downloads_redirects_total</c>
    /// (the first six were its label values before every request was counted).
    /// </summary>
    private static readonly string[] Names =
        ["mirror", "fallback", "head", "metalink", "mirrorlist", "checksums", "not_found", "bad_request", "rate_limited"];

    /// <summary>Every outcome, in order.</summary>
    public static readonly Outcome[] All = Enum.GetValues<Outcome>();

    public static string Name(Outcome outcome) => Names[(int)outcome];

    /// <summary>
    /// What ops call a download: a GET redirect (to a mirror or the origin) or a Metalink, not a HEAD, a mirror
    /// list or a refused retry. Downloads per file, per country and their distinct addresses are these.
    /// </summary>
    public static bool IsDownload(Outcome outcome) => outcome is Outcome.Mirror or Outcome.Fallback or Outcome.Metalink;

    /// <summary>Whether the answer names a manifest file, so it is counted per file (never for paths outside the manifest).</summary>
    public static bool IsPerFile(Outcome outcome) => outcome is Outcome.Mirror or Outcome.Fallback or Outcome.Head or Outcome.Metalink or Outcome.MirrorList;
}
