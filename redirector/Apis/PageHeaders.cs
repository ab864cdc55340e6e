namespace Downloads.Redirector.Apis;

/// <summary>
/// The headers on every HTML page the redirector serves (the <c>/-/ops</c> dashboard, the <c>?mirrorlist</c> page).
/// The Content-Security-Policy allows nothing a page does not name: no inline script or style (the mirror list's one
/// style block is allowed by its hash), nothing fetched from elsewhere, no <c>&lt;base&gt;</c>, forms only to this
/// origin, and no other site may frame it. Should markup ever slip past the encoder, it can neither run script nor
/// send what the page shows anywhere. nosniff keeps a browser from reading JSON or text as HTML; no Referer leaves
/// a dashboard URL on a mirror's logs.
/// </summary>
internal static class PageHeaders
{
    private const string Base = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The strict base policy plus the page's own <paramref name="allow"/> directives.</summary>
    public static string Policy(string allow) => $"{Base}; {allow}";

    /// <summary>Sets the page headers with <paramref name="policy"/> as its Content-Security-Policy.</summary>
    public static void Apply(HttpResponse response, string policy)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = policy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // frame-ancestors' predecessor, for browsers that predate it.
        headers.XFrameOptions = "DENY";
    }
}
