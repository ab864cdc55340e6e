using Downloads.Mirror.Sync;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Downloads.Mirror.Reporting;

/// <summary>Registration of traffic counting and reporting.</summary>
public static class ReportingExtensions
{
    /// <summary>Adds the counters (filled by <see cref="Transport.ClientConnections"/> and <see cref="UseTrafficCounting"/>) and the reporter.</summary>
    public static WebApplicationBuilder AddMirrorReporting(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReportingOptions>().BindConfiguration(ReportingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TrafficCounters>();
        builder.Services.TryAddSingleton<SyncStatus>();
        builder.Services.AddSingleton<MirrorReporter>();
        builder.Services.AddHostedService<ReportingService>();
        return builder;
    }

    /// <summary>Counts requests; put it first in the pipeline.</summary>
    public static IApplicationBuilder UseTrafficCounting(this IApplicationBuilder app)
    {
        var counters = app.ApplicationServices.GetRequiredService<TrafficCounters>();
        return app.Use((context, next) =>
        {
            counters.AddRequest();
            return next(context);
        });
    }
}
