using System.Globalization;
using System.Text;
using Downloads.Contracts.Mirrors;
using Downloads.LaunchDay.Model;
using ScottPlot;
using static Downloads.LaunchDay.Plots;

namespace Downloads.LaunchDay;

/// <summary>Runs the model scenarios (surge while syncing, compressed month), writes their plots and a summary with the pass/fail criteria.</summary>
internal static class ModelReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Returns 0 when every criterion passed.</summary>
    public static int Run(string scenario, string folder)
    {
        Directory.CreateDirectory(folder);
        var sb = new StringBuilder();
        var verdicts = new List<Verdict>();
        if (scenario is "sync" or "models")
            verdicts.AddRange(Sync(folder, sb));
        if (scenario is "month" or "models")
            verdicts.AddRange(Month(folder, sb));
        sb.AppendLine().AppendLine("| criterion | result | figure |").AppendLine("|---|---|---|");
        foreach (var v in verdicts)
            sb.AppendLine(Inv, $"| {v.Criterion} | {(v.Pass ? "pass" : "FAIL")} | {v.Detail} |");
        File.WriteAllText(Path.Combine(folder, $"{scenario}-summary.md"), sb.ToString());
        Console.WriteLine(sb);
        return verdicts.TrueForAll(v => v.Pass) ? 0 : 1;
    }

    private static List<Verdict> Sync(string folder, StringBuilder sb)
    {
        var setup = new SyncSurgeSetup();
        var r = SurgeWhileSyncing.Run(setup);
        var permits = SurgeWhileSyncing.Run(setup with { LinkConfigured = false });
        var control = SurgeWhileSyncing.Run(setup with { LinkConfigured = false, Limits = new() { ReservedForMirrors = 0 } });
        var wide = SurgeWhileSyncing.Run(setup with { OriginGbps = 10 });
        var xs = Enumerable.Range(0, setup.Seconds).Select(s => (double)s).ToArray();

        var plot = new Plot();
        Line(plot, xs, r.SyncedCapacityShare.Select(v => v * 100).ToArray(), "capacity holding the release, %");
        Line(plot, xs, permits.SyncedCapacityShare.Select(v => v * 100).ToArray(), "the same, link unknown (permits only), %").LinePattern = LinePattern.Dashed;
        Line(plot, xs, control.SyncedCapacityShare.Select(v => v * 100).ToArray(), "the same, link unknown and no reserve, %").LinePattern = LinePattern.Dotted;
        Right(plot, Line(plot, xs, r.OriginGbps, "origin sent, Gbit/s (right)"));
        Right(plot, Line(plot, xs, r.OriginToMirrorsGbps, "of it to mirrors' sync, Gbit/s (right)"));
        plot.Axes.Right.Label.Text = "Gbit/s";
        plot.Add.VerticalLine(setup.PublishAt).LinePattern = LinePattern.Dotted;
        plot.Add.VerticalLine(setup.SurgeAt).LinePattern = LinePattern.Dotted;
        Save(plot, "Surge while syncing: mirror capacity holding the release, origin traffic", "seconds", "% of mirror capacity", Path.Combine(folder, "launchday-sync.png"), 1100, 430);

        var clients = new Plot();
        Line(clients, xs, r.ToMirrors.Select(v => (double)v).ToArray(), "to a mirror /s");
        Line(clients, xs, r.ToOrigin.Select(v => (double)v).ToArray(), "to the origin /s");
        Line(clients, xs, r.Refused503.Select(v => (double)v).ToArray(), "503 from the origin /s");
        Line(clients, xs, r.Refused429.Select(v => (double)v).ToArray(), "429 from the origin /s");
        Right(clients, Line(clients, xs, r.OriginOpenPublic.Select(v => (double)v).ToArray(), "origin permits: public (right)"));
        Right(clients, Line(clients, xs, r.OriginOpenMirror.Select(v => (double)v).ToArray(), "origin permits: mirrors (right)"));
        clients.Axes.Right.Label.Text = "open requests";
        Save(clients, "Surge while syncing: where clients went, origin permits", "seconds", "requests/s", Path.Combine(folder, "launchday-sync-clients.png"), 1100, 430);

        var toOrigin = r.ToOrigin.Sum();
        sb.AppendLine("## Surge while syncing").AppendLine();
        sb.AppendLine(Inv, $"Release {setup.ReleaseBytes / 1e9:F1} GB published at {setup.PublishAt} s; surge {setup.NormalRate}/s → {setup.NormalRate * setup.SurgeFactor}/s from {setup.SurgeAt} s over {setup.RampSeconds} s; origin {setup.OriginGbps} Gbit/s, MaxRequests {setup.Limits.MaxRequests}, ReservedForMirrors {setup.Limits.ReservedForMirrors}, PerClient {setup.Limits.PerClient}, MirrorBandwidthShare {setup.Limits.MirrorBandwidthShare}.").AppendLine();
        SyncSurgeResult[] runs = [r, permits, control, wide];
        sb.AppendLine("| figure | link told (LinkBitsPerSecond 4 Gbit/s) | link unknown, permits only (LinkBitsPerSecond 0, the default) | link unknown, no reserve (ReservedForMirrors 0) | link told, origin 10 Gbit/s |")
            .AppendLine("|---|---|---|---|---|");
        foreach (var share in new[] { 0.5, 0.9, 1.0 })
            Row(sb, $"{share:P0} of capacity holds the release, s after publication", runs, x => After(x, setup, share));
        Row(sb, "capacity holding the release at the end", runs, x => string.Create(Inv, $"{x.SyncedCapacityShare[^1]:P0}"));
        Row(sb, "sync requests refused / made", runs, x => string.Create(Inv, $"{x.SyncRefused} / {x.SyncRequests}"));
        Row(sb, "client requests", runs, x => string.Create(Inv, $"{x.Requests:N0}"));
        Row(sb, "sent to the origin (no mirror had it, or room)", runs, x => string.Create(Inv, $"{x.ToOrigin.Sum():N0}"));
        Row(sb, "of those refused: 503 / 429", runs, x => string.Create(Inv, $"{x.Refused503.Sum():N0} / {x.Refused429.Sum():N0}"));
        Row(sb, "origin sent to mirrors' sync, Gbit/s, peak (mean while any synced)", runs, SyncRate);
        Row(sb, "sent to the origin after the last mirror synced", runs, x => string.Create(Inv, $"{x.ToOriginAfterSynced():N0}"));
        sb.AppendLine();
        return Verdict.Of(r, setup);
    }

    private static string After(SyncSurgeResult r, SyncSurgeSetup setup, double share)
    {
        var s = r.SecondsUntil(share);
        return s < 0 ? "not within the run" : (s - setup.PublishAt).ToString(Inv);
    }

    private static void Row(StringBuilder sb, string figure, SyncSurgeResult[] runs, Func<SyncSurgeResult, string> value)
    {
        sb.Append(Inv, $"| {figure} |");
        foreach (var run in runs)
            sb.Append(Inv, $" {value(run)} |");
        sb.AppendLine();
    }

    private static string SyncRate(SyncSurgeResult r)
    {
        var syncing = r.OriginToMirrorsGbps.Where(g => g > 0).ToArray();
        return syncing.Length == 0 ? "0" : string.Create(Inv, $"{syncing.Max():F2} ({syncing.Average():F2})");
    }

    private static List<Verdict> Month(string folder, StringBuilder sb)
    {
        var setup = new MonthSetup();
        var r = CompressedMonth.Run(setup);
        var days = Enumerable.Range(0, r.Hours).Select(h => (h + 1) / 24.0).ToArray();
        var plot = new Plot();
        for (var m = 0; m < r.MirrorIds.Length; m++)
            Line(plot, days, r.UsedByHour.Select(u => 100.0 * u[m] / r.Quota[m]).ToArray(), $"{r.MirrorIds[m]} ({r.Quota[m] / 1e12:0} TB)");
        var budget = new QuotaBudget(1, QuotaBudget.DefaultBurstShare, QuotaBudget.DefaultCeilingShare);
        var allowance = Line(plot, days, days.Select(d => 100 * budget.Allowance(CompressedMonth.March.AddHours(d * 24).AddSeconds(-1))).ToArray(), "allowance (QuotaBudget)");
        allowance.LineWidth = 3;
        allowance.LinePattern = LinePattern.Dashed;
        plot.Add.HorizontalLine(100).LinePattern = LinePattern.Dotted;
        Save(plot, "Compressed month, demand 2x quotas: quota used per mirror", "day of the month", "% of quota used", Path.Combine(folder, "launchday-month-quota.png"), 1000, 500);

        var daily = new Plot();
        var dayNumbers = Enumerable.Range(1, r.Hours / 24).Select(d => (double)d).ToArray();
        double[] PerDay(long[] hourly) => [.. dayNumbers.Select(d => hourly.Skip(((int)d - 1) * 24).Take(24).Sum() / 1e12)];
        Line(daily, dayNumbers, PerDay(r.MirrorBytesInHour), "mirrors, TB/day");
        Line(daily, dayNumbers, PerDay(r.OriginBytesInHour), "origin, TB/day");
        Save(daily, "Compressed month: who served each day", "day of the month", "TB per day", Path.Combine(folder, "launchday-month-origin.png"), 1000, 430);

        sb.AppendLine("## Compressed month").AppendLine();
        sb.AppendLine(Inv, $"Demand {r.Demand / 1e12:F0} TB against quotas of {r.Quota.Sum() / 1e12:F0} TB over {r.MirrorIds.Length} mirrors ({r.Quota.Min() / 1e12:F0}–{r.Quota.Max() / 1e12:F0} TB); rounds of {setup.RoundMinutes} min.").AppendLine();
        sb.AppendLine("| mirror | quota TB | used | at mid-month | last hour served |").AppendLine("|---|---|---|---|---|");
        for (var m = 0; m < r.MirrorIds.Length; m++)
            sb.AppendLine(Inv, $"| {r.MirrorIds[m]} | {r.Quota[m] / 1e12:F0} | {(double)r.Used[m] / r.Quota[m]:P1} | {(double)r.UsedByHour[(r.Hours / 2) - 1][m] / r.Quota[m]:P1} | {r.LastHourServed[m]} of {r.Hours} |");
        sb.AppendLine(Inv, $"| origin | | {r.ToOrigin / 1e12:F1} TB | | |").AppendLine();
        return Verdict.Of(r);
    }
}
