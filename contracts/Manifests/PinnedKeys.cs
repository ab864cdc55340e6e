namespace Downloads.Contracts.Manifests;

/// <summary>Which pinned key verified a document (<see cref="PinnedKeys"/>).</summary>
public enum PinnedKey
{
    /// <summary>Neither key: the document is refused.</summary>
    None,

    /// <summary>The current key (<c>PublicKey</c>).</summary>
    Current,

    /// <summary>The next key (<c>NextPublicKey</c>), pinned ahead of a rotation.</summary>
    Next,
}

/// <summary>
/// The origin's public keys a mirror or redirector trusts: the current one, and during a rotation the next one
/// (docs/ops.md, "Rotating the signing key"). A document verifies when either key verifies it.
/// </summary>
/// <param name="Current">Base64 of the current 32-byte Ed25519 public key.</param>
/// <param name="Next">Base64 of the next key, or null/empty when no rotation is under way.</param>
public sealed record PinnedKeys(string Current, string? Next = null)
{
    /// <summary>Which key verifies <paramref name="signatureBase64"/> over <paramref name="data"/>: current first, then next.</summary>
    public PinnedKey Verify(ReadOnlySpan<byte> data, string signatureBase64)
    {
        if (ManifestSigner.Verify(data, signatureBase64, Current))
            return PinnedKey.Current;
        if (!string.IsNullOrWhiteSpace(Next) && ManifestSigner.Verify(data, signatureBase64, Next))
            return PinnedKey.Next;
        return PinnedKey.None;
    }

    /// <summary>The base64 key of <paramref name="which"/> (the current one for <see cref="PinnedKey.None"/>).</summary>
    public string KeyOf(PinnedKey which) => which == PinnedKey.Next && !string.IsNullOrWhiteSpace(Next) ? Next : Current;

    /// <summary>
    /// True when <paramref name="base64"/> is null, empty, or base64 of exactly 32 bytes that import as an Ed25519 key:
    /// the check of the optional <c>NextPublicKey</c> settings.
    /// </summary>
    public static bool IsValidOptionalKey(string? base64) =>
        string.IsNullOrWhiteSpace(base64) || Mirrors.MirrorIdentity.IsPublicKey(base64);

    /// <summary>The metric label of <paramref name="which"/>: <c>current</c>, <c>next</c> or <c>none</c>.</summary>
    public static string Label(PinnedKey which) => which switch
    {
        PinnedKey.Current => "current",
        PinnedKey.Next => "next",
        _ => "none",
    };
}
