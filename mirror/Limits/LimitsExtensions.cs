using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Limits;

/// <summary>Registration of the connection limits and Kestrel's time and data-rate limits.</summary>
public static class LimitsExtensions
{
    /// <summary>Adds <see cref="LimitsOptions"/>, the per-address table, the probe key and Kestrel's limits.</summary>
    public static IServiceCollection AddConnectionLimit(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AddressConnections>();
        services.AddSingleton<LimitCounters>();
        services.AddSingleton<ProbeKey>();
        services.AddSingleton<ProbeAuthenticator>();
        services.AddSingleton<DownstreamMirrors>();
        services.AddHostedService(sp => sp.GetRequiredService<DownstreamMirrors>());
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((kestrel, options) =>
        {
            var o = options.Value;
            var limits = kestrel.Limits;
            if (o.MinDataRateBytesPerSecond > 0)
            {
                // Kestrel closes a connection whose client takes the response (or sends its body) slower than this
                // on average, allowing the grace period per write. It times every flush, the mirror's sendfile
                // sends included: they happen inside the flush of the stand-in bytes (Transport/SocketOutput).
                var rate = new MinDataRate(o.MinDataRateBytesPerSecond, TimeSpan.FromSeconds(o.MinDataRateGraceSeconds));
                limits.MinResponseDataRate = rate;
                limits.MinRequestBodyDataRate = rate;
            }
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(o.RequestHeadersTimeoutSeconds);
            limits.KeepAliveTimeout = TimeSpan.FromSeconds(o.KeepAliveTimeoutSeconds);
        });
        return services;
    }

    /// <summary>Re-serves the verified mirror key list for the tiers below (<see cref="DownstreamMirrors"/>).</summary>
    public static IEndpointRouteBuilder MapMirrorKeys(this IEndpointRouteBuilder app)
    {
        app.MapMethods(Contracts.Identity.MirrorKeyList.Path, ["GET", "HEAD"], (DownstreamMirrors mirrors) =>
            mirrors.Current is { } c ? Results.Bytes(c.Bytes, "application/json") : NoList());
        app.MapMethods(Contracts.Identity.MirrorKeyList.SignaturePath, ["GET", "HEAD"], (DownstreamMirrors mirrors) =>
            mirrors.Current is { } c ? Results.Text(c.Signature, "text/plain") : NoList());
        return app;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NoList() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "No mirror key list", detail: "this mirror has no verified mirror key list yet");

    /// <summary>Refuses requests on connections beyond the limits; put it early, after traffic counting.</summary>
    public static IApplicationBuilder UseConnectionLimit(this IApplicationBuilder app) => app.UseMiddleware<ConnectionLimitMiddleware>();
}
