using Downloads.Contracts.Hosting;
using Downloads.Mirror.Enrollment;
using Downloads.Mirror.Limits;
using Downloads.Mirror.Metrics;
using Downloads.Mirror.Reporting;
using Downloads.Mirror.Serving;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Downloads.Mirror.Transport;

namespace Downloads.Mirror;

/// <summary>Composes the mirror service; tests build it in-process with the same arguments as production.</summary>
public static class MirrorApp
{
    /// <summary>Builds the mirror web application from command-line style arguments.</summary>
    public static WebApplication Build(string[] args) => Build(args, null);

    /// <summary>Builds the mirror; <paramref name="configure"/> may add or replace services (tests).</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configure)
    {
        var builder = ServiceDefaults.CreateBuilder(args);
        builder.Services.AddDownloadsRedis();
        builder.Services.AddOptions<MirrorOptions>().BindConfiguration(MirrorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<LiveTree>();
        builder.AddServiceDefaults();
        builder.Services.AddMirrorEnrollment();
        builder.Services.AddSync();
        builder.Services.AddStaging();
        builder.Services.AddServing();
        builder.Services.AddConnectionLimit();
        builder.AddMirrorReporting();
        builder.AddMirrorTransport();
        configure?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseTrafficCounting();
        app.UseConnectionLimit();
        app.Services.UseMirrorMetrics();
        app.MapServiceDefaults();
        app.MapStaging();
        app.MapMirrorKeys();
        app.MapServing();
        return app;
    }
}
