using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Apis;

/// <summary><c>?mirrorlist</c> (HTML) and <c>?json</c>: the candidates for a file as seen from a client, and the mirrors left out with the reason.</summary>
internal static class MirrorListApi
{
    public static Task WriteAsync(HttpContext context, RedirectHandler handler, RoutingSnapshot snapshot, FileEntry file,
        ClientLocation client, IPAddress? address, bool https, bool json)
    {
        var view = Build(handler, snapshot, file, client, address, https);
        context.Response.Headers.CacheControl = "private, no-store";
        if (json)
            return TypedResults.Json(view, MirrorListJson.Default.MirrorListView).ExecuteAsync(context);
        return TypedResults.Content(Html(view), "text/html; charset=utf-8").ExecuteAsync(context);
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
                r.Country, r.Continent, r.Asn, Math.Round(v.DistanceKm, 1), r.Serial, r.Serial >= file.ChangedAt,
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
        Exclusion.Unhealthy when v.Mirror.Record.HealthReason.Length > 0 => $"unhealthy ({v.Mirror.Record.HealthReason})",
        Exclusion.OutOfScope => $"serves {v.Mirror.Record.Scope.ToString().ToLowerInvariant()} only",
        _ => ExclusionText.Of(v.Exclusion),
    };

    private static string Html(MirrorListView view)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var sb = new StringBuilder(4096);
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mirrors for ").Append(E(view.Path))
          .Append("</title><style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left}.num{text-align:right}</style></head><body>");
        sb.Append("<h1>").Append(E(view.Path)).Append("</h1><p>")
          .Append(view.Size.ToString("N0", CultureInfo.InvariantCulture)).Append(" bytes · SHA-256 <code>").Append(E(view.Sha256))
          .Append("</code> · changed at serial ").Append(view.ChangedAt).Append(" · manifest serial ").Append(view.Serial).Append("</p>");
        var c = view.Client;
        sb.Append("<p>Client ").Append(E(c.Address)).Append(" · ").Append(c.Located ? E(c.Country.Length > 0 ? c.Country : "?") + $" ({c.Latitude:0.##}, {c.Longitude:0.##})" : "location unknown (default point used)")
          .Append(c.Asn != 0 ? $" · AS{c.Asn}" : "").Append(" · ").Append(view.Scheme).Append("</p>");
        if (view.HeartbeatPanic)
            sb.Append("<p><strong>Most mirrors lost their heartbeat at once</strong> (most likely Redis or the way to it): silent ones are kept until they report again; health probes still take out dead ones.</p>");
        sb.Append("<h2>Candidates</h2>");
        if (view.Candidates.Count == 0)
            sb.Append("<p>None: requests go to <a href=\"").Append(E(view.Fallback)).Append("\">").Append(E(view.Fallback)).Append("</a>.</p>");
        else
        {
            sb.Append("<table><tr><th>#</th><th>Mirror</th><th>Country</th><th class=num>Distance km</th><th>Same AS</th><th class=num>Serial</th><th class=num>Spare Mbit/s</th><th class=num>Chance</th></tr>");
            var rank = 1;
            foreach (var m in view.Candidates)
            {
                sb.Append("<tr><td>").Append(rank++).Append("</td><td><a href=\"").Append(E(m.Url)).Append("\">").Append(E(m.Name)).Append("</a> (").Append(E(m.Id))
                  .Append(m.Reason is null ? ")" : ") · " + E(m.Reason)).Append("</td><td>").Append(E(m.Country)).Append("</td><td class=num>").Append(m.DistanceKm.ToString("N0", CultureInfo.InvariantCulture))
                  .Append("</td><td>").Append(m.SameAsn ? "yes" : "").Append("</td><td class=num>").Append(m.Serial)
                  .Append("</td><td class=num>").Append(m.SpareMbps.ToString("N0", CultureInfo.InvariantCulture))
                  .Append("</td><td class=num>").Append(m.Near ? m.Chance.ToString("P0", CultureInfo.InvariantCulture) : "alternate").Append("</td></tr>");
            }
            sb.Append("</table>");
        }
        if (view.Excluded.Count > 0)
        {
            sb.Append("<h2>Left out</h2><table><tr><th>Mirror</th><th>Country</th><th class=num>Distance km</th><th class=num>Serial</th><th>Reason</th></tr>");
            foreach (var m in view.Excluded)
            {
                sb.Append("<tr><td>").Append(E(m.Name)).Append(" (").Append(E(m.Id)).Append(")</td><td>").Append(E(m.Country))
                  .Append("</td><td class=num>").Append(m.DistanceKm.ToString("N0", CultureInfo.InvariantCulture)).Append("</td><td class=num>").Append(m.Serial)
                  .Append("</td><td>").Append(E(m.Reason)).Append("</td></tr>");
            }
            sb.Append("</table>");
        }
        sb.Append("</body></html>");
        return sb.ToString();
    }
}

internal sealed record MirrorListView(string Path, long Size, string Sha256, long ChangedAt, long Serial, ClientView Client,
    string Scheme, List<MirrorRow> Candidates, List<MirrorRow> Excluded, string? Fallback, bool HeartbeatPanic);

internal sealed record ClientView(string Address, string Country, string Continent, long Asn, double? Latitude, double? Longitude, bool Located);

internal sealed record MirrorRow(string Id, string Name, string Url, string Country, string Continent, long Asn, double DistanceKm,
    long Serial, bool Fresh, bool SameAsn, bool Near, double Chance, double SpareMbps, string? Reason);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MirrorListView))]
internal sealed partial class MirrorListJson : JsonSerializerContext;
