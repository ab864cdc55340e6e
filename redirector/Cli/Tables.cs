using System.Globalization;
using System.Text;
using System.Text.Json;
using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Cli;

/// <summary>Readable tables for the CLI, from the admin API's JSON.</summary>
internal static class Tables
{
    public static readonly string[] MirrorColumns =
        ["id", "status", "enabled", "draining", "alive", "health", "serial", "rate Mbit/s", "capacity Mbit/s", "weight", "period GB", "quota GB", "billing day", "reason"];

    public static string[] MirrorRow(JsonElement m) =>
    [
        Str(m, "id"),
        Str(m, "status").ToLowerInvariant(),
        Bool(m, "enabled") ? "yes" : "no",
        Bool(m, "draining") ? "yes" : "no",
        Bool(m, "alive") ? "yes" : "no",
        Bool(m, "healthy") ? "ok" : "FAIL",
        Num(m, "serial").ToString("0", CultureInfo.InvariantCulture),
        Bandwidth.Mbps(Num(m, "rateBps")).ToString("0.0", CultureInfo.InvariantCulture),
        Num(m, "capacityMbps").ToString("0.#", CultureInfo.InvariantCulture),
        Num(m, "weight").ToString("0.#", CultureInfo.InvariantCulture),
        (Num(m, "monthBytes") / 1e9).ToString("0.00", CultureInfo.InvariantCulture),
        Num(m, "quotaBytes") > 0 ? (Num(m, "quotaBytes") / 1e9).ToString("0", CultureInfo.InvariantCulture) : "-",
        Num(m, "billingDay") is > 0 and var day ? day.ToString("0", CultureInfo.InvariantCulture) : "1",
        Reason(m),
    ];

    /// <summary>A pending change (fields the mirror asks to change; <c>approve</c> applies them) and a problem with the approved record first.</summary>
    private static string Reason(JsonElement m)
    {
        var parts = new List<string>();
        if (m.TryGetProperty("pendingChange", out var change) && change.ValueKind == JsonValueKind.Object)
            parts.Add("pending change: " + string.Join(",", change.EnumerateObject().Select(p => p.Name)));
        if (Str(m, "recordProblem") is { Length: > 0 } problem)
            parts.Add(problem);
        parts.Add(Bool(m, "healthy") ? Str(m, "lastError") : Str(m, "healthReason"));
        return string.Join("; ", parts.Where(p => p.Length > 0));
    }

    /// <summary>Left-aligned columns sized to their widest cell.</summary>
    public static string Render(IReadOnlyList<string> header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header.ToArray() };
        all.AddRange(rows);
        var widths = new int[header.Count];
        foreach (var row in all)
        {
            for (var i = 0; i < widths.Length && i < row.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        }
        var sb = new StringBuilder();
        foreach (var row in all)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                var text = i < row.Length ? row[i] : "";
                sb.Append(i == widths.Length - 1 ? text : text.PadRight(widths[i] + 2));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static string Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";

    public static bool Bool(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static double Num(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
}
