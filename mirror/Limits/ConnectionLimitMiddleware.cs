using System.Globalization;
using Microsoft.Extensions.Options;
using Downloads.Contracts.Hosting;
using Microsoft.Net.Http.Headers;

namespace Downloads.Mirror.Limits;

/// <summary>
/// Answers 503 with Retry-After, and closes the connection, when the connection was accepted beyond
/// <see cref="LimitsOptions.MaxConnections"/> open in all, or beyond <see cref="LimitsOptions.MaxConnectionsPerAddress"/>
/// open from its client's address. Kestrel's own MaxConcurrentConnections would just drop the socket; a client
/// deserves a clear answer it can retry. No path is exempt (service endpoints under <c>/-/</c> included: a
/// client could use them to hold connections too); only a redirector's authenticated health probe
/// (<see cref="ProbeAuthenticator"/>) is served over a limit, so a full mirror still passes its checks, and so is a
/// Prometheus scrape of <c>/-/metrics</c> carrying the scrape token (<see cref="MetricsOptions.ScrapeToken"/>; without a
/// token set there is nothing to tell a scrape from a client, and no exemption), and so is a request signed by an
/// approved mirror syncing from this one (<see cref="DownstreamMirrors"/>).
/// </summary>
internal sealed partial class ConnectionLimitMiddleware(RequestDelegate next, IOptions<LimitsOptions> options, ProbeAuthenticator probes,
    LimitCounters counters, ILogger<ConnectionLimitMiddleware> log, IOptions<MetricsOptions> metrics, DownstreamMirrors downstream)
{
    private static readonly PathString MetricsPath = ServiceDefaults.MetricsPath;
    private readonly byte[] _scrapeToken = System.Text.Encoding.UTF8.GetBytes(metrics.Value.ScrapeToken);
    private readonly int _max = options.Value.MaxConnections;
    private readonly int _maxPerAddress = options.Value.MaxConnectionsPerAddress;
    private readonly string _retryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<ConnectionAdmission>() is not { } admission)
            return next(context);
        var overTotal = _max > 0 && admission.OpenAtAccept > _max;
        var overAddress = !overTotal && _maxPerAddress > 0 && admission.AddressOpenAtAccept > _maxPerAddress;
        if (!overTotal && !overAddress)
            return next(context);
        if (probes.IsProbe(context))
        {
            counters.ProbeExempted();
            return next(context);
        }
        if (context.Request.Path.Equals(MetricsPath, StringComparison.Ordinal) && ScrapeAuthorization.Matches(context.Request, _scrapeToken))
            return next(context);
        if (downstream.Identify(context) is not null)
        {
            counters.MirrorExempted();
            return next(context);
        }
        // Log the first refusal of each kind and then every 1000th, not one line per refused request during a surge.
        if (counters.Refused(overAddress) % 1000 == 1)
        {
            if (overAddress)
                LogAddressRefused(log, admission.AddressOpenAtAccept, _maxPerAddress);
            else
                LogRefused(log, admission.OpenAtAccept, _max);
        }
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers[HeaderNames.RetryAfter] = _retryAfter;
        context.Response.Headers[HeaderNames.Connection] = "close";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(overAddress
            ? $"Too many connections from your address ({_maxPerAddress} max); retry in {_retryAfter} s.\n"
            : $"Too many connections ({_max} max); retry in {_retryAfter} s.\n");
    }

    [LoggerMessage(EventId = MirrorEvents.ConnectionRefused, Level = LogLevel.Warning, Message = "Refusing a connection with 503: {Open} open, limit {Max} (Serving:MaxConnections)")]
    private static partial void LogRefused(ILogger logger, long open, int max);

    [LoggerMessage(EventId = MirrorEvents.AddressConnectionRefused, Level = LogLevel.Warning, Message = "Refusing a connection with 503: {Open} open from its client's address, limit {Max} (Serving:MaxConnectionsPerAddress)")]
    private static partial void LogAddressRefused(ILogger logger, int open, int max);
}
