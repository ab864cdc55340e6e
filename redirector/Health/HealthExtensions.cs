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
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<HealthChecker>(sp));
        services.AddHostedService<HealthCheckService>();
        return services;
    }
}
