using System.Collections.Frozen;

namespace Downloads.Redirector.Ops;

/// <summary>
/// The dashboard's files, embedded in the assembly: our page, script and style from <c>Ops/web/</c>, and
/// uPlot's built files, which the build fetches from npm (<c>npm ci</c> in <c>Ops/web/</c>) and embeds —
/// nothing third-party is committed. Embedded, so the in-process test hosts serve them whatever their
/// content root.
/// </summary>
internal static class OpsAssets
{
    private static readonly FrozenDictionary<string, (string Resource, string ContentType)> Files = new Dictionary<string, (string, string)>
    {
        ["ops.js"] = ("ops/ops.js", "text/javascript; charset=utf-8"),
        ["ops.css"] = ("ops/ops.css", "text/css; charset=utf-8"),
        ["uplot.js"] = ("ops/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
        ["uplot.css"] = ("ops/uPlot.min.css", "text/css; charset=utf-8"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public const string Page = "ops/ops.html";

    public static bool TryGet(string name, out string resource, out string contentType)
    {
        if (Files.TryGetValue(name, out var file))
        {
            (resource, contentType) = file;
            return true;
        }
        resource = contentType = "";
        return false;
    }

    public static Stream? Open(string resource) => typeof(OpsAssets).Assembly.GetManifestResourceStream(resource);
}
