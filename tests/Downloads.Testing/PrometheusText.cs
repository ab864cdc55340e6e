using System.Globalization;
using System.Text.RegularExpressions;

namespace Downloads.Testing;

/// <summary>One sample of a Prometheus text exposition.</summary>
public sealed record PrometheusSample(string Family, string Type, string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>A label's value, or null.</summary>
    public string? Label(string name) => Labels.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A strict parser of the Prometheus text exposition format 0.0.4, with the checks promtool's
/// <c>check metrics</c> makes on structure: valid metric and label names, escaped label values, numeric
/// values (NaN, ±Inf allowed), at most one HELP and one TYPE per family and TYPE before its samples, a
/// family's lines in one group, no duplicate series, non-negative counters, histograms with cumulative
/// buckets ending in <c>le="+Inf"</c> equal to <c>_count</c>, and a final newline. Throws
/// <see cref="FormatException"/> naming the line on the first violation.
/// </summary>
public static partial class PrometheusText
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    /// <summary>Parses and checks <paramref name="text"/>.</summary>
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
            throw new FormatException("exposition must end with a newline");
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helps = new HashSet<string>(StringComparer.Ordinal);
        var closed = new HashSet<string>(StringComparer.Ordinal);
        var series = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        var lines = text.Split('\n');
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var where = $"line {n + 1}: '{line}'";
            if (line.Length == 0)
                continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE")
                {
                    var family = parts[2];
                    if (!MetricName().IsMatch(family))
                        throw new FormatException($"{where}: bad metric name");
                    Enter(family);
                    if (parts[1] == "HELP" && !helps.Add(family))
                        throw new FormatException($"{where}: second HELP for {family}");
                    if (parts[1] == "TYPE")
                    {
                        if (parts.Length != 4 || !Types.Contains(parts[3]))
                            throw new FormatException($"{where}: unknown type");
                        if (samples.Any(s => s.Family == family))
                            throw new FormatException($"{where}: TYPE after samples of {family}");
                        if (!types.TryAdd(family, parts[3]))
                            throw new FormatException($"{where}: second TYPE for {family}");
                    }
                }
                continue;
            }
            var (name, labels, rest) = SplitSample(line, where);
            var familyName = FamilyOf(name, types);
            Enter(familyName);
            var fields = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length is < 1 or > 2)
                throw new FormatException($"{where}: expected a value and an optional timestamp");
            var value = ParseValue(fields[0], where);
            if (fields.Length == 2 && !long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                throw new FormatException($"{where}: bad timestamp");
            var key = name + "{" + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}";
            if (!series.Add(key))
                throw new FormatException($"{where}: duplicate series {key}");
            var type = types.GetValueOrDefault(familyName, "untyped");
            if (type == "counter" && (value < 0 || double.IsNaN(value)))
                throw new FormatException($"{where}: counter below zero");
            samples.Add(new PrometheusSample(familyName, type, name, labels, value));
        }
        CheckHistograms(samples);
        return samples;

        void Enter(string family)
        {
            if (family == current)
                return;
            if (current is not null)
                closed.Add(current);
            if (closed.Contains(family))
                throw new FormatException($"family {family} appears in two separate groups");
            current = family;
        }
    }

    private static string FamilyOf(string name, Dictionary<string, string> types)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(name[..^suffix.Length], out var t) && t is "histogram" or "summary")
                return name[..^suffix.Length];
        }
        return name;
    }

    private static (string Name, Dictionary<string, string> Labels, string Tail) SplitSample(string line, string where)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
            i++;
        var name = line[..i];
        if (!MetricName().IsMatch(name))
            throw new FormatException($"{where}: bad metric name");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i >= line.Length)
                    throw new FormatException($"{where}: unterminated label set");
                if (line[i] == '}')
                {
                    i++;
                    break;
                }
                var eq = line.IndexOf('=', i);
                if (eq < 0)
                    throw new FormatException($"{where}: label without '='");
                var label = line[i..eq];
                if (!LabelName().IsMatch(label) || label.StartsWith("__", StringComparison.Ordinal))
                    throw new FormatException($"{where}: bad label name '{label}'");
                if (eq + 1 >= line.Length || line[eq + 1] != '"')
                    throw new FormatException($"{where}: label value not quoted");
                var value = new System.Text.StringBuilder();
                var j = eq + 2;
                for (; j < line.Length && line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(j < line.Length ? line[j] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"{where}: bad escape in label value"),
                        } : throw new FormatException($"{where}: dangling escape"));
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }
                if (j >= line.Length)
                    throw new FormatException($"{where}: unterminated label value");
                if (!labels.TryAdd(label, value.ToString()))
                    throw new FormatException($"{where}: label '{label}' twice");
                i = j + 1;
                if (i < line.Length && line[i] == ',')
                    i++;
            }
        }
        if (i >= line.Length || line[i] != ' ')
            throw new FormatException($"{where}: expected a space before the value");
        return (name, labels, line[(i + 1)..]);
    }

    private static double ParseValue(string text, string where) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"{where}: bad value '{text}'"),
    };

    private static void CheckHistograms(List<PrometheusSample> samples)
    {
        foreach (var group in samples.Where(s => s.Type == "histogram").GroupBy(s =>
                     s.Family + "{" + string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}"))
        {
            var buckets = group.Where(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal))
                .Select(s => (Le: ParseValue(s.Label("le") ?? throw new FormatException($"{group.Key}: bucket without le"), group.Key), s.Value))
                .ToList();
            if (buckets.Count == 0 || !double.IsPositiveInfinity(buckets[^1].Le))
                throw new FormatException($"{group.Key}: histogram without a final le=\"+Inf\" bucket");
            for (var i = 1; i < buckets.Count; i++)
            {
                if (buckets[i].Le <= buckets[i - 1].Le)
                    throw new FormatException($"{group.Key}: bucket bounds not increasing");
                if (buckets[i].Value < buckets[i - 1].Value)
                    throw new FormatException($"{group.Key}: buckets not cumulative");
            }
            var count = group.SingleOrDefault(s => s.Name.EndsWith("_count", StringComparison.Ordinal))
                ?? throw new FormatException($"{group.Key}: histogram without _count");
            if (count.Value != buckets[^1].Value)
                throw new FormatException($"{group.Key}: _count {count.Value} differs from the +Inf bucket {buckets[^1].Value}");
            if (!group.Any(s => s.Name.EndsWith("_sum", StringComparison.Ordinal)))
                throw new FormatException($"{group.Key}: histogram without _sum");
        }
    }
}
