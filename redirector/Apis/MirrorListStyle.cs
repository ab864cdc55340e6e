using System.Security.Cryptography;
using System.Text;

namespace Downloads.Redirector.Apis;

/// <summary>
/// The <c>?mirrorlist</c> page's style, inline so the page stays one self-contained answer (curl, a saved page), and
/// allowed by the page's Content-Security-Policy through its SHA-256 rather than <c>'unsafe-inline'</c>: any other
/// style block or attribute is refused by the browser.
/// </summary>
internal static class MirrorListStyle
{
    /// <summary>The style block's exact text (the page writes it unencoded, so the hash is of these very bytes).</summary>
    public const string Css = "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left}.num{text-align:right}";

    /// <summary>The page's Content-Security-Policy.</summary>
    public static readonly string Policy = PageHeaders.Policy(
        $"style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Css)))}'");
}
