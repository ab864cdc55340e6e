using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Downloads.Mirror.Limits;

/// <summary>
/// Answers 503 with Retry-After, and closes the connection, when the connection was accepted beyond
/// <see cref="LimitsOptions.MaxConnections"/>. Kestrel's own MaxConcurrentConnections would just drop
/// the socket; a client (or the redirector's health check) deserves a clear answer it can retry.
/// Service endpoints under <c>/-/</c> (health, metrics, manifest) are never refused.
/// </summary>
internal sealed partial class ConnectionLimitMiddleware(RequestDelegate next, IOptions<LimitsOptions> options, ILogger<ConnectionLimitMiddleware> log)
{
    private readonly int _max = options.Value.MaxConnections;
    private readonly string _retryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
    private long _refused;

    public Task InvokeAsync(HttpContext context)
    {
        if (_max <= 0 || context.Features.Get<ConnectionAdmission>() is not { } admission || admission.OpenAtAccept <= _max
            || context.Request.Path.StartsWithSegments("/-", StringComparison.Ordinal))
            return next(context);
        // Log the first refusal and then every 1000th, not one line per refused request during a surge.
        if (Interlocked.Increment(ref _refused) % 1000 == 1)
            LogRefused(log, admission.OpenAtAccept, _max);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers[HeaderNames.RetryAfter] = _retryAfter;
        context.Response.Headers[HeaderNames.Connection] = "close";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync($"Too many connections ({_max} max); retry in {_retryAfter} s.\n");
    }

    [LoggerMessage(EventId = MirrorEvents.ConnectionRefused, Level = LogLevel.Warning, Message = "Refusing a connection with 503: {Open} open, limit {Max} (Serving:MaxConnections)")]
    private static partial void LogRefused(ILogger logger, long open, int max);
}
