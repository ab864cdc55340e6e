using Microsoft.AspNetCore.Builder;
using System.Text;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;
using StackExchange.Redis;

namespace Downloads.Contracts.Hosting;

/// <summary>What every service has: ProblemDetails errors, <c>/-/health</c> and <c>/-/metrics</c>.</summary>
public static class ServiceDefaults
{
    /// <summary>Path of the liveness endpoint.</summary>
    public const string HealthPath = "/-/health";

    /// <summary>Path of the Prometheus endpoint.</summary>
    public const string MetricsPath = "/-/metrics";

    /// <summary>Configuration key of ASP.NET Core's per-request hosting log (request starting/finished).</summary>
    public const string HostingDiagnosticsLogLevelKey = "Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>Host setting: reload the configuration files when they change (ASP.NET Core's default: true).</summary>
    public const string ReloadConfigOnChangeKey = "hostBuilder:reloadConfigOnChange";

    /// <summary>
    /// The log levels every service ships with, as configuration keys: nothing is logged per request or
    /// per outgoing HTTP call; start-up, state changes, warnings and errors are. Any command-line,
    /// environment or file setting wins over these (docs/ops.md, "Logs").
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> DefaultLogLevels { get; } =
    [
        new("Logging:LogLevel:Default", "Information"),
        // Routing and result executors log "Executing endpoint …"/"Executed endpoint …" per request at Information.
        new("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
        new(HostingDiagnosticsLogLevelKey, "None"),
        // IHttpClientFactory logs four lines per outgoing request (the redirector's manifest polls, …).
        new("Logging:LogLevel:System.Net.Http.HttpClient", "Warning"),
    ];

    /// <summary>
    /// The slim builder every service starts from. Its content root is the application's own folder (where an
    /// <c>appsettings.json</c> would ship), not the working directory, so the service behaves the same whoever
    /// starts it from wherever; and configuration files are read once, not watched
    /// (<see cref="ReloadConfigOnChangeKey"/> false): ASP.NET Core's default watches the content root
    /// recursively, which under run.sh was the repository with its growing logs and under Ansible a mirror's
    /// whole object store: ~20% of a core per idle service in its file-watch thread while a log grew beside it
    /// (bench/README.md, "Logs and file watching"). Settings come from the command line and the environment and
    /// take effect at the next start.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // Host settings are read from the command line before the configuration files are added.
            Args = [$"--{ReloadConfigOnChangeKey}=false", .. args],
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The slim builder leaves out Kestrel's HTTPS configuration: without this an https:// URL in --urls or a
        // Kestrel:Certificates:Default setting would stop the start. Services serve HTTPS themselves when given a certificate.
        builder.WebHost.UseKestrelHttpsConfiguration();
        return builder;
    }

    /// <summary>
    /// <see cref="AddServiceDefaults(IServiceCollection)"/> plus <see cref="DefaultLogLevels"/> as the lowest
    /// configuration source in priority (any command-line, environment or file setting wins). The per-request
    /// hosting log is off, not merely below the level: while that category is enabled at all, ASP.NET Core
    /// starts an <c>Activity</c> (W3C trace id) and a log scope with their execution-context copies for every
    /// request, even when nothing records them — measured in the redirector as about a third of the bytes a
    /// redirect allocates (bench/README.md).
    /// <c>--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information</c> turns request logs back on.
    /// Under systemd (<see cref="JournalLogging"/>) the console logger's default formatter is <c>systemd</c>.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        IEnumerable<KeyValuePair<string, string?>> defaults = DefaultLogLevels;
        if (JournalLogging.StdoutIsJournal())
            defaults = [.. defaults, new(JournalLogging.FormatterKey, "systemd")];
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
        builder.Services.AddConsoleFormatterSetting();
        builder.Services.AddServiceDefaults();
        return builder;
    }

    /// <summary>
    /// Registers ProblemDetails, health checks and a per-application Prometheus registry
    /// (<see cref="CollectorRegistry"/>): several services can run in one process (tests) without
    /// mixing their metrics. Services create their metrics through the registered <see cref="IMetricFactory"/>.
    /// The registry carries the process and runtime metrics (<see cref="RuntimeMetrics"/>).
    /// </summary>
    public static IServiceCollection AddServiceDefaults(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.AddHealthChecks();
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section);
        var registry = Metrics.NewCustomRegistry();
        RuntimeMetrics.Register(registry);
        services.AddSingleton(registry);
        services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(registry));
        return services;
    }

    /// <summary>
    /// Maps <c>/-/metrics</c> (Prometheus text; behind <see cref="MetricsOptions.ScrapeToken"/> when one is set) and, unless the service answers <c>/-/health</c> itself
    /// with something richer (<paramref name="mapHealth"/> false), a plain health check there.
    /// </summary>
    public static IEndpointRouteBuilder MapServiceDefaults(this IEndpointRouteBuilder endpoints, bool mapHealth = true)
    {
        if (mapHealth)
            endpoints.MapHealthChecks(HealthPath, new HealthCheckOptions { AllowCachingResponses = false });
        var registry = endpoints.ServiceProvider.GetRequiredService<CollectorRegistry>();
        // Every service: is the shared store reachable right now (the multiplexer's own view, no round trip).
        // Resolved at scrape time, not here: creating the multiplexer may depend on start-up work (a
        // mirror's enrollment provides its Redis credentials).
        var services = endpoints.ServiceProvider;
        if (services.GetRequiredService<IServiceProviderIsService>().IsService(typeof(IConnectionMultiplexer)))
        {
            var up = services.GetRequiredService<IMetricFactory>()
                .CreateGauge("downloads_redis_up", "1 while the service's Redis connection is established.");
            registry.AddBeforeCollectCallback(() => up.Set(services.GetRequiredService<IConnectionMultiplexer>().IsConnected ? 1 : 0));
        }
        var token = Encoding.UTF8.GetBytes(services.GetRequiredService<IOptions<MetricsOptions>>().Value.ScrapeToken);
        endpoints.MapGet(MetricsPath, async (HttpContext context) =>
        {
            if (token.Length > 0 && !ScrapeAuthorization.Matches(context.Request, token))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
                return;
            }
            context.Response.ContentType = PrometheusConstants.ExporterContentTypeValue.ToString();
            await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });
        return endpoints;
    }

}
