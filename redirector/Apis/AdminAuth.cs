using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Apis;

/// <summary>
/// The one check in front of <c>/-/api/…</c> and <c>/-/ops</c>: the configured <c>Admin:Token</c>, given as
/// <c>Authorization: Bearer TOKEN</c> (CLI, scripts) or as the password of HTTP Basic (a browser's own
/// login prompt; any user name), compared in constant time. 401 with a one-line reason otherwise.
/// </summary>
internal static class AdminAuth
{
    public static async ValueTask<object?> RequireAdminAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var expected = http.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value.Token;
        if (expected.Length > 0 && Matches(GivenToken(http.Request.Headers.Authorization.ToString()), expected))
            return await next(context);
        // Basic so a browser opening /-/ops shows its login prompt; Bearer for tools. One challenge per
        // header line: browsers do not split several challenges out of one line.
        http.Response.Headers.WWWAuthenticate = new Microsoft.Extensions.Primitives.StringValues(
            ["Basic realm=\"Downloads ops\", charset=\"UTF-8\"", "Bearer realm=\"Downloads ops\""]);
        return TypedResults.Problem(expected.Length == 0 ? "admin API disabled: set Admin:Token" : "missing or wrong admin token",
            statusCode: StatusCodes.Status401Unauthorized);
    }

    internal static string GivenToken(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return header[7..].Trim();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                return colon >= 0 ? decoded[(colon + 1)..] : "";
            }
            catch (FormatException)
            {
                return "";
            }
        }
        return "";
    }

    private static bool Matches(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
}
