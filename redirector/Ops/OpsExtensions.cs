namespace Downloads.Redirector.Ops;

/// <summary>Registration of the ops dashboard.</summary>
public static class OpsExtensions
{
    /// <summary>Adds the dashboard's options and its sampler (view builder and history writer).</summary>
    public static IServiceCollection AddOps(this IServiceCollection services)
    {
        services.AddOptions<OpsOptions>().BindConfiguration(OpsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<OpsSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<OpsSampler>());
        return services;
    }
}
