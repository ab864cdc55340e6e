using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Overload;

/// <summary>Registers the redirector's overload protection: Kestrel limits and the per-client rate limit.</summary>
internal static class OverloadExtensions
{
    public static IServiceCollection AddOverloadProtection(this IServiceCollection services)
    {
        services.AddOptions<ServerLimitsOptions>().BindConfiguration(ServerLimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServerLimitsOptions>>((kestrel, options) =>
        {
            var o = options.Value;
            var limits = kestrel.Limits;
            limits.MaxRequestHeadersTotalSize = o.MaxRequestHeadersTotalSize;
            limits.MaxRequestHeaderCount = o.MaxRequestHeaderCount;
            limits.MaxRequestLineSize = o.MaxRequestLineSize;
            limits.MaxRequestBodySize = o.MaxRequestBodySize;
            limits.MaxConcurrentConnections = o.MaxConcurrentConnections;
            limits.MaxConcurrentUpgradedConnections = o.MaxConcurrentUpgradedConnections;
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(o.RequestHeadersTimeoutSeconds);
            limits.KeepAliveTimeout = TimeSpan.FromSeconds(o.KeepAliveTimeoutSeconds);
            kestrel.AddServerHeader = false;
        });
        services.AddSingleton<ClientRateLimiter>();
        return services;
    }

    /// <summary>Adds the rate-limiting middleware (<see cref="RateLimitMiddleware"/>) unless <c>RateLimit:Enabled</c> is false (then it costs nothing).</summary>
    public static IApplicationBuilder UseOverloadProtection(this IApplicationBuilder app)
    {
        if (app.ApplicationServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.Enabled)
            app.UseMiddleware<RateLimitMiddleware>();
        return app;
    }
}
