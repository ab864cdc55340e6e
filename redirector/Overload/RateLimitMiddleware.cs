using System.Globalization;
using System.Threading.RateLimiting;
using Downloads.Redirector.Clients;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Overload;

/// <summary>
/// Puts every request through <see cref="ClientRateLimiter"/> (a <see cref="PartitionedRateLimiter{TResource}"/>
/// of System.Threading.RateLimiting, the library under ASP.NET Core's rate limiting): granted → on, refused →
/// <c>429</c> with <c>Retry-After</c>. Synchronous and allocation-free when granted. It replaces
/// <c>UseRateLimiter()</c>, whose per-request endpoint-policy lookup, combined lease and async state
/// machine cost 7–9% of the redirector's requests/s in <c>bench/redirect.sh</c> for one global limiter
/// that needs none of them (docs/reliability.md). A refusal is counted like any answer (outcome
/// <c>rate_limited</c>, country, distinct address) from the address the limiter already resolved: no manifest
/// lookup, one bounded geo lookup (bench/README.md, "Counting the 429 path").
/// </summary>
internal sealed class RateLimitMiddleware(RequestDelegate next, ClientRateLimiter limiter, ClientAddressResolver clients, RequestCounter count)
{
    public Task InvokeAsync(HttpContext context)
    {
        var lease = limiter.AttemptAcquire(context);
        if (lease.IsAcquired)
        {
            lease.Dispose();
            return next(context);
        }
        count.CountRefused(clients.Resolve(context));
        return RejectAsync(context, lease);
    }

    /// <summary>429, <c>Retry-After</c> in whole seconds, a one-line reason.</summary>
    internal static async Task RejectAsync(HttpContext context, RateLimitLease lease)
    {
        using (lease)
        {
            var seconds = 1;
            if (lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                seconds = (int)Math.Clamp(Math.Ceiling(retryAfter.TotalSeconds), 1, 3600);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Apis.Problems.Write(context, StatusCodes.Status429TooManyRequests, $"too many requests from this address; retry after {seconds} s");
        }
    }
}
