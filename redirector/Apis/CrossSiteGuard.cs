using Downloads.Redirector.Clients;

namespace Downloads.Redirector.Apis;

/// <summary>
/// Refuses a state change that another site asked a browser to make (CSRF). A browser says where a request
/// comes from in <c>Sec-Fetch-Site</c> (every current browser) and, on a POST, <c>Origin</c>; it cannot be
/// made to forge either. Tools (the CLI, curl, Ansible) send neither and pass. <c>same-site</c> is refused
/// too: another port or a sibling host name of ours (a mirror's or the origin's files) is not the admin API.
/// </summary>
internal static class CrossSiteGuard
{
    /// <summary>Null when <paramref name="http"/> may change state; otherwise the one-line reason it may not.</summary>
    public static string? Refusal(HttpContext http, ClientAddressResolver clients)
    {
        var headers = http.Request.Headers;
        var site = headers["Sec-Fetch-Site"];
        if (site.Count > 0 && site.ToString() is not ("same-origin" or "none"))
            return "cross-site request refused: state changes come from this origin or from tools (the CLI) only";
        var origin = headers.Origin;
        if (origin.Count > 0 && !IsOwnOrigin(origin.ToString(), clients.IsHttps(http) ? "https" : "http", http.Request.Host))
            return "request from another origin refused: state changes come from this origin or from tools (the CLI) only";
        return null;
    }

    /// <summary>Whether <paramref name="origin"/> (scheme://host[:port], or <c>null</c>) is this very endpoint.</summary>
    internal static bool IsOwnOrigin(string origin, string scheme, HostString host)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var given) || given.AbsolutePath != "/" || !host.HasValue)
            return false;
        if (!Uri.TryCreate($"{scheme}://{host.Value}", UriKind.Absolute, out var own))
            return false;
        // Uri fills in the scheme's default port on both sides, so http://a and http://a:80 are the same origin.
        return string.Equals(given.Scheme, own.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(given.IdnHost, own.IdnHost, StringComparison.OrdinalIgnoreCase)
            && given.Port == own.Port;
    }
}
