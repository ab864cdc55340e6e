namespace Downloads.Mirror.Staging;

/// <summary>Registers staged-file prefetch.</summary>
public static class StagingServiceCollectionExtensions
{
    /// <summary>Adds <see cref="StagingOptions"/>, the staged ciphertexts and their worker (after <c>AddSync</c>).</summary>
    public static IServiceCollection AddStaging(this IServiceCollection services)
    {
        services.AddOptions<StagingOptions>().BindConfiguration(StagingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<StagedCiphertexts>();
        services.AddSingleton<ReleaseWaits>();
        services.AddHostedService<StagingWorker>();
        return services;
    }
}
