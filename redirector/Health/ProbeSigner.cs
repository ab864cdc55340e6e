using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Health;

/// <summary>
/// Signs the health checker's requests with the probed mirror's key (<see cref="ProbeToken"/>), so a mirror
/// whose connection limits are used up by clients still serves its probes instead of failing them and
/// flapping. The key is set around one mirror's probe with <see cref="Use"/> and flows to the requests of
/// that probe through the async context, which keeps <see cref="MirrorProber"/> unaware of it. Without a
/// key (the mirror has not published one yet) requests go unsigned and are served like any client's.
/// </summary>
internal sealed class ProbeSigner(TimeProvider time) : DelegatingHandler
{
    private static readonly AsyncLocal<byte[]?> Key = new();

    /// <summary>
    /// Signs the requests made after this call in the calling async method (and what it awaits) with
    /// <paramref name="key"/>; the setting ends with that method, so parallel probes each keep their own.
    /// </summary>
    public static void Use(byte[]? key) => Key.Value = key;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Key.Value is { } key && request.RequestUri is { } uri)
        {
            request.Headers.Remove(ProbeToken.Header);
            // PathAndQuery is the request target the handler writes on the request line: what the mirror checks.
            request.Headers.TryAddWithoutValidation(ProbeToken.Header, ProbeToken.Create(key, request.Method.Method, uri.PathAndQuery, time.GetUtcNow()));
        }
        return base.SendAsync(request, cancellationToken);
    }
}
