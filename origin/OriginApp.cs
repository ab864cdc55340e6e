using Downloads.Contracts.Hosting;
using Downloads.Origin.Apis;
using Downloads.Origin.Limits;
using Downloads.Origin.Metrics;
using Downloads.Origin.Publishing;

namespace Downloads.Origin;

/// <summary>Composes the origin service; tests build it in-process with the same arguments as production.</summary>
public static class OriginApp
{
    /// <summary>Builds the web application from command-line style arguments.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = ServiceDefaults.CreateBuilder(args);
        builder.Services.AddDownloadsRedis();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddServiceDefaults();
        builder.Services.AddPublishing();
        builder.Services.AddOriginLimits();
        var app = builder.Build();
        app.Services.UseOriginMetrics();
        app.UseOriginLimits();
        app.MapServiceDefaults(mapHealth: false);
        app.MapFiles();
        return app;
    }
}
