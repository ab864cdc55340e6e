using Downloads.Contracts.Hosting;
using Downloads.Origin.Apis;
using Downloads.Origin.Limits;
using Downloads.Origin.Metrics;
using Downloads.Origin.Publishing;
using Downloads.Origin.Staging;

namespace Downloads.Origin;

/// <summary>Composes the origin service; tests build it in-process with the same arguments as production.</summary>
public static class OriginApp
{
    /// <summary>Builds the web application from command-line style arguments.</summary>
    public static WebApplication Build(string[] args) => Build(args, null);

    /// <summary>Builds the web application with another clock (tests: a fake one drives releases).</summary>
    public static WebApplication Build(string[] args, TimeProvider? time)
    {
        var builder = ServiceDefaults.CreateBuilder(args);
        builder.Services.AddDownloadsRedis();
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.AddServiceDefaults();
        builder.Services.AddPublishing();
        builder.Services.AddStaging();
        builder.Services.AddOriginLimits();
        var app = builder.Build();
        app.Services.UseOriginMetrics();
        app.UseOriginLimits();
        app.MapServiceDefaults(mapHealth: false);
        app.MapStaging();
        app.MapMirrorKeys();
        app.MapFiles();
        return app;
    }
}
