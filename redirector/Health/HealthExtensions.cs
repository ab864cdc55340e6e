using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Health;

/// <summary>Registration of active health checks.</summary>
public static class HealthExtensions
{
    /// <summary>
    /// Adds the checker and its background rounds. Needs an <see cref="IManifestSource"/> registered
    /// by whoever holds the redirector's verified manifest.
    /// </summary>
    public static IServiceCollection AddMirrorHealthChecks(this IServiceCollection services)
    {
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations()
            .Validate(o => ProbeTargetPolicy.TryParse(o.AllowedNetworks, out _, out _), "Health:AllowedNetworks must be comma-separated addresses or CIDR networks")
            .ValidateOnStart();
        // The heartbeat panic keeps silent mirrors in the table and counts on these probes to take out
        // the really dead ones: without probes it would route to dead hosts, so it is off.
        services.AddOptions<RedirectorOptions>().PostConfigure<IOptions<HealthOptions>>((redirector, health) =>
        {
            if (!health.Value.Enabled)
                redirector.HeartbeatPanicPercent = 0;
        });
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<HealthChecker>(sp));
        services.AddHostedService<HealthCheckService>();
        return services;
    }
}
