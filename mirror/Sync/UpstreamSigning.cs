using Downloads.Contracts.Identity;
using Microsoft.Extensions.Options;
using NSec.Cryptography;

namespace Downloads.Mirror.Sync;

/// <summary>
/// The identity this mirror signs its upstream requests with (RFC 9421, <see cref="RequestSignature"/>), once it
/// has one: its id and the Ed25519 private key made at enrollment. An upstream that knows the key (the origin,
/// from ops' approval) then serves the mirror from capacity public clients cannot take. Without a key,
/// requests go unsigned and are served as any client's.
/// </summary>
public sealed class UpstreamSigningKey(IOptions<MirrorOptions> mirror) : IDisposable
{
    /// <summary>File in the data folder holding the mirror's Ed25519 private key (base64 seed), written at enrollment (mode 0600).</summary>
    public const string IdentityFile = "mirror-identity.key";

    private Identity? _current;
    private int _loaded;

    /// <summary>The mirror id requests are signed as, or null while there is no key.</summary>
    public string? MirrorId => Volatile.Read(ref _current)?.Id;

    /// <summary>Signs from now on as <paramref name="mirrorId"/> with the base64 raw Ed25519 seed <paramref name="privateKey"/>.</summary>
    public void Set(string mirrorId, string privateKey)
    {
        var key = Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(privateKey.Trim()), KeyBlobFormat.RawPrivateKey);
        Interlocked.Exchange(ref _current, new Identity(mirrorId, key))?.Key.Dispose();
    }

    internal void Sign(HttpRequestMessage request, DateTimeOffset now)
    {
        // The key file is read on first use: enrollment writes it before the sync starts.
        if (Interlocked.Exchange(ref _loaded, 1) == 0 && Volatile.Read(ref _current) is null)
            Load();
        if (Volatile.Read(ref _current) is { } identity)
            RequestSignature.Sign(request, identity.Id, identity.Key, now);
    }

    private void Load()
    {
        var path = Path.Combine(mirror.Value.DataDir, IdentityFile);
        if (File.Exists(path))
            Set(mirror.Value.Id, File.ReadAllText(path));
    }

    /// <inheritdoc />
    public void Dispose() => Interlocked.Exchange(ref _current, null)?.Key.Dispose();

    private sealed record Identity(string Id, Key Key);
}

/// <summary>Signs every request of the upstream HttpClient (each retry afresh, with a new nonce).</summary>
internal sealed class UpstreamSigningHandler(UpstreamSigningKey signing, TimeProvider time) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        signing.Sign(request, time.GetUtcNow());
        return base.SendAsync(request, cancellationToken);
    }
}
