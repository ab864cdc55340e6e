using System.Security.Cryptography;
using System.Text;
using Downloads.Redirector.Clients;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Downloads.Redirector.Apis;

/// <summary>Who may call an admin endpoint: the API takes the bearer token only; the dashboard also a browser's Basic login, for reading.</summary>
internal enum AdminAccess
{
    /// <summary><c>/-/api/…</c>: <c>Authorization: Bearer {Admin:Token}</c> (CLI, scripts, Ansible).</summary>
    Api,

    /// <summary><c>/-/ops…</c>: the bearer token, or the token as the password of HTTP Basic (the browser's own login prompt) on GET/HEAD.</summary>
    Dashboard,
}

/// <summary>
/// The one gate in front of <c>/-/api/…</c> and <c>/-/ops</c>, run as middleware after routing and before the
/// endpoint (so nothing is read from an unauthenticated body), in this order:
/// <list type="number">
/// <item>with <see cref="AdminOptions.Urls"/> set, only a connection on the admin listener gets through; the public listener answers 404;</item>
/// <item>a state change (any method but GET/HEAD) that a browser sends from another site or origin is refused, 403 (<see cref="CrossSiteGuard"/>);</item>
/// <item>the configured <c>Admin:Token</c>, compared in constant time: as <c>Authorization: Bearer</c> everywhere, or as the
/// password of HTTP Basic (any user name) only to read the dashboard. A browser resends a cached Basic login to any
/// request another site makes it send, so Basic can never change state (403); 401 otherwise.</item>
/// </list>
/// Refusals are ProblemDetails with a one-line reason. Every admin answer is <c>no-store</c> and <c>nosniff</c>.
/// </summary>
internal static partial class AdminAuth
{
    /// <summary>The reason of the public listener's 404 (the CLI recognises it and suggests the admin listener).</summary>
    public const string NotOnThisListener = "not found on this listener";

    private const string BasicChallenge = "Basic realm=\"Downloads ops\", charset=\"UTF-8\"";
    private const string BearerChallenge = "Bearer realm=\"Downloads ops\"";

    /// <summary>Marks the endpoints of <paramref name="group"/> as admin endpoints with the given access.</summary>
    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group, AdminAccess access)
    {
        group.WithMetadata(new AdminEndpoint(access));
        // Fail closed: an admin endpoint reached without the gate having run (a pipeline without UseAdminAuth) answers 500.
        group.AddEndpointFilter(static (context, next) => context.HttpContext.Features.Get<GatePassed>() is not null
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem("admin gate missing from the pipeline (UseAdminAuth)",
                statusCode: StatusCodes.Status500InternalServerError)));
        return group;
    }

    /// <summary>Adds the gate to the pipeline; it acts only on endpoints marked with <see cref="RequireAdmin"/>.</summary>
    public static WebApplication UseAdminAuth(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<AdminOptions>>().Value;
        if (options.Urls.Length > 0)
            LogSeparateListener(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminAuth).FullName!), options.Urls);
        app.Use(static (context, next) => context.GetEndpoint()?.Metadata.GetMetadata<AdminEndpoint>() is { } endpoint
            ? GateAsync(context, endpoint.Access, next)
            : next(context));
        return app;
    }

    private static Task GateAsync(HttpContext http, AdminAccess access, RequestDelegate next)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value;
        var headers = http.Response.Headers;
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        if (options.Urls.Length > 0 && !AdminListener.IsAdminConnection(http))
            return RefuseAsync(http, StatusCodes.Status404NotFound, NotOnThisListener);

        var reads = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);
        if (!reads && CrossSiteGuard.Refusal(http, http.RequestServices.GetRequiredService<ClientAddressResolver>()) is { } crossSite)
            return RefuseAsync(http, StatusCodes.Status403Forbidden, crossSite);

        var basicAllowed = access == AdminAccess.Dashboard && reads;
        var (scheme, given) = Credentials(http.Request.Headers.Authorization.ToString());
        if (scheme == Scheme.Basic && !basicAllowed)
            return RefuseAsync(http, StatusCodes.Status403Forbidden,
                "the browser login (Basic) only reads the dashboard; change state with Authorization: Bearer (the CLI)");
        var expected = options.Token;
        if (expected.Length > 0 && scheme != Scheme.None && Matches(given, expected))
        {
            http.Features.Set(GatePassed.Instance);
            return next(http);
        }
        // Basic only where a browser may use it, so a browser never prompts for (or resends) a login elsewhere.
        // One challenge per header line: browsers do not split several challenges out of one line.
        headers.WWWAuthenticate = basicAllowed ? new StringValues([BasicChallenge, BearerChallenge]) : BearerChallenge;
        return RefuseAsync(http, StatusCodes.Status401Unauthorized,
            expected.Length == 0 ? "admin API disabled: set Admin:Token" : "missing or wrong admin token");
    }

    private static Task RefuseAsync(HttpContext http, int status, string reason)
    {
        LogRefused(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminAuth).FullName!),
            http.Request.Method, http.Request.Path.Value ?? "", status, reason);
        return TypedResults.Problem(reason, statusCode: status).ExecuteAsync(http);
    }

    internal enum Scheme
    {
        None,
        Bearer,
        Basic,
    }

    /// <summary>The scheme of an <c>Authorization</c> header and the token it carries (Basic: the password).</summary>
    internal static (Scheme Scheme, string Token) Credentials(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return (Scheme.Bearer, header[7..].Trim());
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                return (Scheme.Basic, colon >= 0 ? decoded[(colon + 1)..] : "");
            }
            catch (FormatException)
            {
                return (Scheme.Basic, "");
            }
        }
        return (Scheme.None, "");
    }

    private static bool Matches(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));

    /// <summary>Endpoint metadata: an admin endpoint and who may call it.</summary>
    private sealed record AdminEndpoint(AdminAccess Access);

    /// <summary>Set on a request the gate let through; the endpoint filter refuses any admin request without it.</summary>
    private sealed class GatePassed
    {
        public static readonly GatePassed Instance = new();
    }

    [LoggerMessage(EventId = RedirectorEvents.AdminListenerSeparate, Level = LogLevel.Information,
        Message = "Admin API and dashboard listen on {AdminUrls} only; the public listener answers 404 for them")]
    private static partial void LogSeparateListener(ILogger logger, string adminUrls);

    // Debug: a flood of refused requests must not fill the log at the default level.
    [LoggerMessage(EventId = RedirectorEvents.AdminRequestRefused, Level = LogLevel.Debug, Message = "Admin request {Method} {Path} refused ({Status}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string reason);
}
