using Downloads.Contracts.Hosting;
using Downloads.Redirector.Apis;
using Downloads.Redirector.Clients;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Health;
using Downloads.Redirector.Membership;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Ops;
using Downloads.Redirector.Overload;
using Downloads.Redirector.Staging;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector;

/// <summary>Composes the redirector service; tests build it in-process with the same arguments as production.</summary>
public static class RedirectorApp
{
    /// <summary>Builds the web application from command-line style arguments.</summary>
    public static WebApplication Build(string[] args) => Build(args, null);

    /// <summary>Builds the web application; <paramref name="configure"/> may add or replace services (tests).</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configure)
    {
        var builder = ServiceDefaults.CreateBuilder(args);
        builder.AddAdminListener();
        builder.Services.AddDownloadsRedis();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddServiceDefaults();
        builder.Services.AddGeo();
        builder.Services.AddRedirector();
        builder.Services.AddMembership().AddAdminApi();
        builder.Services.AddSingleton<IManifestSource, SnapshotManifestSource>();
        builder.Services.AddMirrorHealthChecks();
        builder.Services.AddOps();
        builder.Services.AddOverloadProtection();
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        // Listens to Kestrel's meter from the start, so a refusal before the first scrape is counted too.
        app.Services.GetRequiredService<KestrelRejections>();
        app.Services.UseStagingMetrics();
        app.Services.GetRequiredService<Health.DegradationMetrics>();
        app.UseOverloadProtection();
        app.UseRedirectsBeforeRouting();
        app.UseRouting();
        app.UseAdminAuth();
        app.MapServiceDefaults(mapHealth: false);
        app.MapAdminApi();
        app.MapOps();
        app.MapRedirects();
        return app;
    }

    /// <summary>Registers the redirector's options, snapshot, selection, counting and background services.</summary>
    public static IServiceCollection AddRedirector(this IServiceCollection services)
    {
        services.AddOptions<RedirectorOptions>().BindConfiguration(RedirectorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RedirectorInstance>();
        services.AddSingleton<SnapshotHolder>();
        services.AddSingleton<HeldBackManifest>();
        services.AddSingleton<Health.ManifestExpiry>();
        services.AddSingleton<Health.IDegradationSource>(sp => sp.GetRequiredService<Health.ManifestExpiry>());
        services.AddSingleton<SavedState>();
        services.AddSingleton<Health.IDegradationSource, Health.SavedStateDegradation>();
        services.AddSingleton<Health.DegradationMetrics>();
        services.AddSingleton<Health.IDegradationSource, Health.NoMirror>();
        services.AddSingleton<RedirectorMetrics>();
        services.AddSingleton<KestrelRejections>();
        services.AddSingleton<CounterRegistry>();
        services.AddSingleton<RequestCounter>();
        services.AddSingleton(sp => new MirrorSelector(sp.GetRequiredService<IOptions<RedirectorOptions>>().Value, Random.Shared));
        services.AddSingleton<ClientAddressResolver>();
        services.AddSingleton<RedirectHandler>();
        services.AddHttpClient<ManifestFetcher>(c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddHttpClient(nameof(Staging.ReleaseWatch), c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<Staging.ReleaseWatch>();
        services.AddSingleton<ISnapshotBuilder, SnapshotBuilder>();
        services.AddHostedService<SnapshotRefresher>();
        services.AddSingleton<CounterFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<CounterFlusher>());
        return services;
    }
}
