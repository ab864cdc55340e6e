using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Redirector.Apis;

/// <summary><c>?mirrorlist</c> (HTML) and <c>?json</c>: the candidates for a file as seen from a client, and the mirrors left out with the reason.</summary>
internal static class MirrorListApi
{
    // The page's renderer needs only an encoder: one that leaves letters of every script as they are.
    private static readonly ServiceProvider PageServices =
        new ServiceCollection().AddSingleton(HtmlEncoder.Create(UnicodeRanges.All)).BuildServiceProvider();

    public static Task WriteAsync(HttpContext context, RedirectHandler handler, RoutingSnapshot snapshot, FileEntry file,
        ClientLocation client, IPAddress? address, bool https, bool json)
    {
        var view = Build(handler, snapshot, file, client, address, https);
        context.Response.Headers.CacheControl = "private, no-store";
        if (json)
            return TypedResults.Json(view, MirrorListJson.Default.MirrorListView).ExecuteAsync(context);
        return WriteHtmlAsync(context, view);
    }

    /// <summary>
    /// Renders <see cref="MirrorListPage"/> to a string (Razor components' static rendering, no interactivity).
    /// The encoder leaves non-ASCII letters as they are (Linköping, not Link&amp;#xF6;ping), so the page stays
    /// readable with curl; markup characters are encoded as always.
    /// </summary>
    private static async Task WriteHtmlAsync(HttpContext context, MirrorListView view)
    {
        await using var renderer = new HtmlRenderer(PageServices, NullLoggerFactory.Instance);
        var html = await renderer.Dispatcher.InvokeAsync(async () =>
        {
            var parameters = ParameterView.FromDictionary(new Dictionary<string, object?> { [nameof(MirrorListPage.View)] = view });
            return (await renderer.RenderComponentAsync<MirrorListPage>(parameters)).ToHtmlString();
        });
        PageHeaders.Apply(context.Response, MirrorListStyle.Policy);
        await TypedResults.Content(html, "text/html; charset=utf-8").ExecuteAsync(context);
    }

    public static MirrorListView Build(RedirectHandler handler, RoutingSnapshot snapshot, FileEntry file,
        ClientLocation client, IPAddress? address, bool https)
    {
        var verdicts = handler.Selector.Explain(snapshot, file, client, https);
        var candidates = new List<MirrorRow>();
        var excluded = new List<MirrorRow>();
        foreach (var v in verdicts)
        {
            var r = v.Mirror.Record;
            var row = new MirrorRow(r.Id, r.Name, v.Mirror.BaseUrl(https) is { Length: > 0 } b ? b + "/" + file.EscapedPath : "",
                r.Country, r.Continent, r.Asn, Math.Round(v.DistanceKm, 1), r.Serial, Eligibility.Fresh(Eligibility.SerialFor(snapshot, r, file), file),
                v.SameAsn, v.Near, Math.Round(v.Chance, 4), Math.Round(Bandwidth.Mbps(v.Mirror.SpareBps), 1),
                v.Exclusion != Exclusion.None ? Reason(v) : r.Alive ? null : "no heartbeat: kept while most mirrors are silent");
            (v.Exclusion == Exclusion.None ? candidates : excluded).Add(row);
        }
        return new MirrorListView(file.Path, file.Size, file.Sha256Hex, file.ChangedAt, snapshot.Index.Serial,
            new ClientView(address?.ToString() ?? "", client.Country, client.Continent, client.Asn,
                client.HasCoordinates ? client.Latitude : null, client.HasCoordinates ? client.Longitude : null, client.HasCoordinates),
            https ? "https" : "http", candidates, excluded,
            candidates.Count == 0 ? handler.Fallbacks[0] + "/" + file.EscapedPath : null, snapshot.HeartbeatPanic);
    }

    private static string Reason(MirrorVerdict v) => v.Exclusion switch
    {
        Exclusion.Stale => $"stale (serial {v.Mirror.Record.Serial})",
        // The probe's own words (URLs, addresses, errors) are for ops only (admin API, dashboard): the public
        // list says only that a check failed, so probes cannot be used to look into a network through it.
        Exclusion.Unhealthy => "unhealthy (failed health check)",
        Exclusion.OutOfScope => $"serves {v.Mirror.Record.Scope.ToString().ToLowerInvariant()} only",
        _ => ExclusionText.Of(v.Exclusion),
    };
}

public sealed record MirrorListView(string Path, long Size, string Sha256, long ChangedAt, long Serial, ClientView Client,
    string Scheme, List<MirrorRow> Candidates, List<MirrorRow> Excluded, string? Fallback, bool HeartbeatPanic);

public sealed record ClientView(string Address, string Country, string Continent, long Asn, double? Latitude, double? Longitude, bool Located);

public sealed record MirrorRow(string Id, string Name, string Url, string Country, string Continent, long Asn, double DistanceKm,
    long Serial, bool Fresh, bool SameAsn, bool Near, double Chance, double SpareMbps, string? Reason);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MirrorListView))]
internal sealed partial class MirrorListJson : JsonSerializerContext;
