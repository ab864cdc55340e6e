using System.Collections.Concurrent;
using Downloads.Contracts.Mirrors;
using Microsoft.AspNetCore.Http.Features;

namespace Downloads.Mirror.Limits;

/// <summary>
/// Recognises a redirector's health probe by its <see cref="ProbeToken"/>: made with this mirror's
/// <see cref="ProbeKey"/>, for this method and request target, within <see cref="ProbeToken.MaxSkew"/>, and not
/// seen before (a token copied off the wire cannot be replayed). Asked only about requests over a limit, so it
/// costs the ordinary request nothing.
/// </summary>
internal sealed class ProbeAuthenticator(ProbeKey key, TimeProvider time)
{
    /// <summary>Most nonces remembered; beyond it no more probes are exempted until old ones expire (only valid tokens get in).</summary>
    internal const int MaxRemembered = 65_536;

    // Nonce → Unix seconds after which it can be forgotten (its token has expired by then).
    private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="context"/> carries a valid probe token not used before; uses it up.</summary>
    public bool IsProbe(HttpContext context)
    {
        var token = context.Request.Headers[ProbeToken.Header].ToString();
        if (token.Length == 0)
            return false;
        // The target as the client sent it (path and query, still escaped): what the prober signed.
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value + context.Request.QueryString.Value;
        var now = time.GetUtcNow();
        if (ProbeToken.Verify(key.Bytes, token, context.Request.Method, target, now, out var nonce) != ProbeTokenCheck.Valid)
            return false;
        var seconds = now.ToUnixTimeSeconds();
        if (_seen.Count >= MaxRemembered / 2)
            Forget(seconds);
        return _seen.Count < MaxRemembered && _seen.TryAdd(nonce, seconds + 2 * (long)ProbeToken.MaxSkew.TotalSeconds);
    }

    private void Forget(long now)
    {
        foreach (var (nonce, until) in _seen)
        {
            if (until < now)
                _seen.TryRemove(nonce, out _);
        }
    }
}
