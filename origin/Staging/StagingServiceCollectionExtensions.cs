using Microsoft.Extensions.DependencyInjection;

namespace Downloads.Origin.Staging;

/// <summary>Registers staged releases.</summary>
public static class StagingServiceCollectionExtensions
{
    /// <summary>Adds the served staging list and the release timer (after <c>AddPublishing</c>).</summary>
    public static IServiceCollection AddStaging(this IServiceCollection services)
    {
        services.AddSingleton<StagingStore>();
        services.AddHostedService<StagingService>();
        return services;
    }
}
