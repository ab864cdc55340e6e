using Microsoft.Extensions.DependencyInjection;

namespace Downloads.Origin.Publishing;

/// <summary>Registers publishing.</summary>
public static class PublishingServiceCollectionExtensions
{
    /// <summary>Adds <see cref="OriginOptions"/>, the served state and the start-up publication.</summary>
    public static IServiceCollection AddPublishing(this IServiceCollection services)
    {
        services.AddOptions<OriginOptions>().BindConfiguration(OriginOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PublishedStore>();
        services.AddHostedService<PublishingService>();
        return services;
    }
}
