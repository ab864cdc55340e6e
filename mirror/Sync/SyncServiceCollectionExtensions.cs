using Downloads.Mirror.Storage;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Sync;

/// <summary>Registers the sync engine.</summary>
public static class SyncServiceCollectionExtensions
{
    /// <summary>Adds <see cref="SyncOptions"/>, the disk store, the upstream client and the hosted sync worker.</summary>
    public static IServiceCollection AddSync(this IServiceCollection services)
    {
        services.AddOptions<SyncOptions>().BindConfiguration(SyncOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Sync logs one line per file and a progress line; per-request HttpClient logs would drown them.
        services.AddSingleton<UpstreamSigningKey>();
        services.AddTransient<UpstreamSigningHandler>();
        services.AddHttpClient(UpstreamClient.HttpClientName).AddHttpMessageHandler<UpstreamSigningHandler>().RemoveAllLoggers();
        services.AddSingleton(sp => new DiskStore(sp.GetRequiredService<IOptions<MirrorOptions>>().Value.DataDir));
        services.AddSingleton<SyncStatus>();
        services.AddSingleton<BandwidthLimiter>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<FileFetcher>();
        services.AddSingleton<SyncEngine>();
        services.AddHostedService<SyncWorker>();
        return services;
    }
}
