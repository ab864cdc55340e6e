using System.Globalization;
using System.Text;
using ScottPlot;

namespace Downloads.LaunchDay;

/// <summary>Figures and plots of a run.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(string folder, Recorder r, ServerTimes server, SimMirror[] mirrors, Dictionary<string, double> countries, int distinct)
    {
        var seconds = Enumerable.Range(0, r.Seconds - 1).Select(s => (double)s).ToArray();
        var victim = Array.FindIndex(mirrors, m => m.Id == Scenario.Victim);
        var kill = (int)Scenario.KillAt;

        // 1. Utilisation: assigned bandwidth / capacity, the worst 100 ms sample of each second.
        var util = new Plot();
        for (var i = 0; i < mirrors.Length; i++)
        {
            var ys = seconds.Select(s => r.RateMax((int)s, i) / (mirrors[i].CapacityGbps * 1e9) * 100).ToArray();
            Plots.Line(util, seconds, ys, $"{mirrors[i].Id} ({mirrors[i].CapacityGbps:0} G)");
        }
        util.Add.HorizontalLine(100).LinePattern = LinePattern.Dashed;
        util.Add.VerticalLine(Scenario.KillAt).LinePattern = LinePattern.Dotted;
        Plots.Save(util, "Assigned bandwidth / capacity per mirror (worst 100 ms of each second)", "seconds", "% of capacity", Path.Combine(folder, "launchday-utilisation.png"), 960, 430);

        // 2. Latency percentiles per second, with the request rate.
        double Pct(IReadOnlyList<double> xs, double p)
        {
            if (xs.Count == 0)
                return double.NaN;
            var sorted = xs.Order().ToArray();
            return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        }
        var lat = new Plot();
        foreach (var (p, name) in new[] { (0.5, "p50"), (0.99, "p99"), (0.999, "p99.9") })
        {
            Plots.Line(lat, seconds, seconds.Select(s => Pct(r.Latencies((int)s), p)).ToArray(), name);
        }
        Plots.Line(lat, seconds, seconds.Select(s => Pct(server.InSecond((int)s), 0.99)).ToArray(), "p99 inside the redirector").LineWidth = 2;
        lat.Add.HorizontalLine(5).LinePattern = LinePattern.Dashed;
        Plots.Right(lat, Plots.Line(lat, seconds, seconds.Select(s => (double)r.Latencies((int)s).Count).ToArray(), "redirects/s (right)"));
        lat.Axes.Right.Label.Text = "redirects/s";
        lat.Add.VerticalLine(Scenario.KillAt).LinePattern = LinePattern.Dotted;
        lat.Title("Redirect latency: client side (in-process load generator) and inside the redirector");
        lat.XLabel("seconds");
        lat.YLabel("ms");
        lat.ShowLegend(Alignment.UpperLeft);
        lat.SavePng(Path.Combine(folder, "launchday-latency.png"), 1000, 450);

        // 3. Share by country, from the redirector's own counters in Redis.
        var total = countries.Values.Sum();
        var top = countries.OrderByDescending(kv => kv.Value).Take(15).ToList();
        var bars = new Plot();
        bars.Add.Bars(top.Select(kv => kv.Value / total * 100).ToArray());
        bars.Axes.Bottom.SetTicks(Enumerable.Range(0, top.Count).Select(i => (double)i).ToArray(), top.Select(kv => kv.Key).ToArray());
        bars.Title($"Redirects by client country (top 15 of {countries.Count}; dl:s:…:countries)");
        bars.YLabel("% of redirects");
        bars.Axes.Margins(bottom: 0);
        bars.SavePng(Path.Combine(folder, "launchday-countries.png"), 800, 350);

        // 4. The dead mirror's share moving to its neighbours.
        var from = Math.Max(0, kill - 10);
        var to = Math.Min(r.Seconds - 2, kill + 15);
        var window = Enumerable.Range(from, to - from + 1).Select(s => (double)s).ToArray();
        var neighbours = new[] { "de-fra", "nl-ams", "fr-par", "pl-waw", "uk-lon", "se-sto" };
        var fail = new Plot();
        foreach (var id in neighbours)
        {
            var i = Array.FindIndex(mirrors, m => m.Id == id);
            var line = fail.Add.Scatter(window, window.Select(s => (double)r.Redirects((int)s, i)).ToArray());
            line.LegendText = id;
            line.MarkerSize = 3;
        }
        var originLine = fail.Add.Scatter(window, window.Select(s => (double)r.Redirects((int)s, mirrors.Length)).ToArray());
        originLine.LegendText = "origin (fallback)";
        originLine.MarkerSize = 3;
        fail.Add.VerticalLine(Scenario.KillAt).LinePattern = LinePattern.Dotted;
        Plots.Save(fail, $"{Scenario.Victim} killed at {Scenario.KillAt} s: redirects/s to it and its neighbours", "seconds", "redirects/s", Path.Combine(folder, "launchday-failover.png"), 1000, 400);

        // Figures.
        var all = Enumerable.Range(0, r.Seconds).SelectMany(s => r.Latencies(s)).ToList();
        var peak = Enumerable.Range((int)Scenario.RampEnd, r.Seconds - (int)Scenario.RampEnd).SelectMany(s => r.Latencies(s)).ToList();
        var lastToVictim = Enumerable.Range(kill, r.Seconds - kill).Where(s => r.Redirects(s, victim) > 0).DefaultIfEmpty(kill - 1).Max();
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"| figure | value |");
        sb.AppendLine("|---|---|");
        sb.AppendLine(Inv, $"| redirects answered | {all.Count:N0} (surge {Scenario.NormalRate:0}/s → {Scenario.NormalRate * Scenario.SurgeFactor:0}/s) |");
        sb.AppendLine(Inv, $"| distinct client addresses / countries | {distinct:N0} / {countries.Count} |");
        sb.AppendLine(Inv, $"| refused (status: count) / not sent (generator full) | {(r.RefusedBy.Count == 0 ? "none" : string.Join(", ", r.RefusedBy.Select(kv => $"{kv.Key}: {kv.Value}")))} / {r.SkippedCount} |");
        sb.AppendLine(Inv, $"| latency p50 / p99 / p99.9 / max, whole run | {Pct(all, 0.5):F2} / {Pct(all, 0.99):F2} / {Pct(all, 0.999):F2} / {all.Max():F1} ms |");
        var serverAll = server.All();
        sb.AppendLine(Inv, $"| server-side time p50 / p99 / p99.9 / max (first middleware to response, whole run) | {Pct(serverAll, 0.5):F3} / {Pct(serverAll, 0.99):F3} / {Pct(serverAll, 0.999):F3} / {serverAll.Max():F1} ms |");
        sb.AppendLine(Inv, $"| latency p99 at 10x | {Pct(peak, 0.99):F2} ms (goal < 5 ms) |");
        sb.AppendLine(Inv, $"| seconds whose p99 ≥ 5 ms | {seconds.Count(s => Pct(r.Latencies((int)s), 0.99) >= 5)} of {seconds.Length} |");
        var over = 0;
        var worst = (Id: "", Pct: 0.0);
        for (var i = 0; i < mirrors.Length; i++)
        {
            for (var s = 0; s < r.Seconds; s++)
            {
                var u = r.RateMax(s, i) / (mirrors[i].CapacityGbps * 1e9) * 100;
                if (u > 100)
                    over++;
                if (u > worst.Pct)
                    worst = (mirrors[i].Id, u);
            }
        }
        sb.AppendLine(Inv, $"| highest utilisation of any mirror (worst 100 ms) | {worst.Pct:F1}% ({worst.Id}) |");
        sb.AppendLine(Inv, $"| mirror-seconds above capacity | {over} |");
        sb.AppendLine(Inv, $"| to origin (no mirror had room) | {Enumerable.Range(0, r.Seconds).Sum(s => r.Redirects(s, mirrors.Length)):N0} |");
        sb.AppendLine(Inv, $"| {Scenario.Victim} share in the 10 s before the kill | {Share(r, victim, kill - 10, kill):P1} |");
        sb.AppendLine(Inv, $"| last redirect to {Scenario.Victim} after the kill | {(lastToVictim < kill ? "none" : $"in second {lastToVictim - kill} after it (heartbeat TTL 3 s + table refresh 0.5 s)")} |");
        sb.AppendLine(Inv, $"| redirects sent to the dead mirror | {Enumerable.Range(kill, r.Seconds - kill).Sum(s => r.Redirects(s, victim)):N0} |");
        foreach (var id in neighbours.Skip(1))
        {
            var i = Array.FindIndex(mirrors, m => m.Id == id);
            sb.AppendLine(Inv, $"| {id} share before → after (10 s windows) | {Share(r, i, kill - 10, kill):P1} → {Share(r, i, kill + 5, kill + 15):P1} |");
        }
        File.WriteAllText(Path.Combine(folder, "summary.md"), sb.ToString());
        // The raw series behind the plots, for a closer look: one row per second and mirror.
        var csv = new StringBuilder("second,mirror,capacity_gbps,redirects,mean_pct,worst_pct\n");
        for (var s = 0; s < r.Seconds; s++)
        {
            for (var i = 0; i < mirrors.Length; i++)
            {
                var capacity = mirrors[i].CapacityGbps * 1e9;
                csv.AppendLine(Inv, $"{s},{mirrors[i].Id},{mirrors[i].CapacityGbps},{r.Redirects(s, i)},{r.RateMean(s, i) / capacity * 100:F1},{r.RateMax(s, i) / capacity * 100:F1}");
            }
        }
        File.WriteAllText(Path.Combine(folder, "launchday-mirrors.csv"), csv.ToString());
        return sb.ToString();
    }

    private static double Share(Recorder r, int mirror, int from, int to)
    {
        double mine = 0, all = 0;
        for (var s = Math.Max(0, from); s < Math.Min(r.Seconds, to); s++)
        {
            mine += r.Redirects(s, mirror);
            for (var m = 0; m <= r.Mirrors.Length; m++)
                all += r.Redirects(s, m);
        }
        return all == 0 ? 0 : mine / all;
    }
}
