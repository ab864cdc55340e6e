using Downloads.Contracts.Identity;
using Downloads.Mirror.Sync;
using Microsoft.Extensions.Options;
using NSec.Cryptography;
using Prometheus;

namespace Downloads.Mirror.Limits;

/// <summary>
/// Which mirrors syncing from this one (tier-2) are who they say: the approved keys of the origin's signed
/// <see cref="MirrorKeyList"/>, fetched from upstream every <see cref="Interval"/>, verified against the pinned keys
/// (current or next, as the manifest), kept only while current (an hour: a revoked key drops out of the next list), and
/// re-served as verified for the tiers below. A request signed by one of them (RFC 9421, <see cref="RequestSignature"/>:
/// time window, single-use nonce) is served over this mirror's connection limits, as the origin reserves capacity for
/// signed mirror requests, so a surge of public clients on a tier-1 mirror cannot starve the sync that relieves it.
/// Anything else is a public client: a forged, replayed or unknown signature only costs a count by reason.
/// </summary>
public sealed partial class DownstreamMirrors(UpstreamClient upstream, IOptions<MirrorOptions> options, TimeProvider time,
    IMetricFactory metrics, ILogger<DownstreamMirrors> log) : BackgroundService
{
    /// <summary>How often the list is fetched again.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly NonceCache _nonces = new();
    private readonly Counter _refused = metrics.CreateCounter("downloads_mirror_downstream_signature_refused_total",
        "Requests over a connection limit whose mirror signature did not verify, by reason; they were treated as public clients.", ["reason"]);
    private Verified? _current;
    private string _lastProblem = "";

    /// <summary>The list this mirror verified last, as served, with its keys.</summary>
    public sealed record Verified(MirrorKeyList List, byte[] Bytes, string Signature, IReadOnlyDictionary<string, PublicKey> Keys);

    /// <summary>The verified list (re-served at <see cref="MirrorKeyList.Path"/>), or null.</summary>
    public Verified? Current => Volatile.Read(ref _current);

    /// <summary>The approved key of <paramref name="mirrorId"/> while the list is current, else null.</summary>
    public PublicKey? Find(string mirrorId) =>
        Current is { } c && c.List.IsCurrent(time.GetUtcNow()) ? c.Keys.GetValueOrDefault(mirrorId) : null;

    /// <summary>The verified id of a request signed by an approved mirror, or null (a reason counted when it carried a signature).</summary>
    public string? Identify(HttpContext context)
    {
        var request = context.Request;
        var input = request.Headers[RequestSignature.InputHeader];
        var signature = request.Headers[RequestSignature.SignatureHeader];
        if (input.Count == 0 && signature.Count == 0)
            return null;
        if (input.Count != 1 || signature.Count != 1)
        {
            _refused.WithLabels("malformed").Inc();
            return null;
        }
        var id = RequestSignature.Verify(request.Method, request.Host.Value ?? "", request.Path.Value ?? "/", request.QueryString.Value ?? "",
            input[0], signature[0], Find, time.GetUtcNow(), _nonces, out var reason);
        if (id is null)
            _refused.WithLabels(RequestSignature.ReasonLabel(reason)).Inc();
        return id;
    }

    /// <summary>Fetches and verifies the list once; true when a newer one was taken.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        {
            var (bytes, failure) = await upstream.TryGetOnceAsync(MirrorKeyList.Path.TrimStart('/'), MirrorKeyList.MaxBytes, cancellationToken);
            if (bytes is null)
                return Problem(failure!);
            var (sig, sigFailure) = await upstream.TryGetOnceAsync(MirrorKeyList.SignaturePath.TrimStart('/'), (int)Contracts.Manifests.ManifestDefaults.MaxSignatureBytes, cancellationToken);
            if (sig is null)
                return Problem(sigFailure!);
            var signature = System.Text.Encoding.ASCII.GetString(sig).Trim();
            if (options.Value.Keys.Verify(bytes, signature) == Contracts.Manifests.PinnedKey.None)
                return Problem("its signature verifies against neither Mirror:PublicKey nor Mirror:NextPublicKey");
            if (MirrorKeyList.TryParse(bytes, out var error) is not { } list)
                return Problem(error ?? "unreadable");
            if (!list.IsCurrent(time.GetUtcNow()))
                return Problem($"it is not current (issued {list.Issued:u}, expires {list.Expires:u})");
            if (Current is { } old && list.Issued < old.List.Issued)
                return Problem("it is older than the one held");
            var keys = new Dictionary<string, PublicKey>(StringComparer.Ordinal);
            foreach (var (id, key) in list.Keys)
                keys[id] = MirrorKeyDirectory.TryParse(key)!;
            Volatile.Write(ref _current, new Verified(list, bytes, signature, keys));
            _lastProblem = "";
            return true;
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
            await RefreshAsync(stoppingToken);
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Logs a problem when it differs from the last one (not once a minute while it lasts).</summary>
    private bool Problem(string reason)
    {
        if (!string.Equals(reason, _lastProblem, StringComparison.Ordinal))
            LogListRefused(log, reason);
        _lastProblem = reason;
        return false;
    }

    [LoggerMessage(EventId = MirrorEvents.MirrorKeyListRefused, Level = LogLevel.Warning, Message = "Mirror key list from upstream not taken, keeping the last one: {Reason}")]
    private static partial void LogListRefused(ILogger logger, string reason);
}
