using System.Globalization;
using Downloads.Contracts.Mirrors;

namespace Downloads.LaunchDay.Model;

/// <summary>One pass/fail criterion of a model run, with the figure it was judged on.</summary>
internal sealed record Verdict(string Criterion, bool Pass, string Detail)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Every mirror must hold the release this soon after its publication (the bandwidth share's criterion).</summary>
    public const int SyncDeadlineSeconds = 300;

    /// <summary>
    /// Surge while syncing: the reserve keeps sync going, the bandwidth share brings the release to every mirror within
    /// <see cref="SyncDeadlineSeconds"/>, and the origin's public load ends with it.
    /// </summary>
    public static List<Verdict> Of(SyncSurgeResult r, SyncSurgeSetup setup)
    {
        var after = r.ToOriginAfterSynced();
        var last = r.SyncedAt.Contains(-1) ? -1 : r.SyncedAt.Max() - setup.PublishAt;
        return
        [
            new("no signed sync request refused by the origin (the reserved share)", r.SyncRefused == 0,
                string.Create(Inv, $"{r.SyncRefused} of {r.SyncRequests} refused")),
            new("sync is not starved: every mirror holds the release before the run ends", !r.SyncedAt.Contains(-1),
                string.Create(Inv, $"{r.SyncedAt.Count(s => s >= 0)} of {r.SyncedAt.Length}")),
            new(string.Create(Inv, $"sync gets its bandwidth: every mirror holds the release within {SyncDeadlineSeconds} s of publication"),
                last >= 0 && last <= SyncDeadlineSeconds, last < 0 ? "not every mirror within the run" : string.Create(Inv, $"the last after {last} s")),
            new("once every mirror holds it, no client is sent to the origin", after == 0 && !r.SyncedAt.Contains(-1),
                string.Create(Inv, $"{after} sent after the last sync")),
        ];
    }

    /// <summary>Compressed month: no mirror over quota, none spent early while others have quota, the origin takes only the excess.</summary>
    public static List<Verdict> Of(MonthResult r)
    {
        var over = Enumerable.Range(0, r.Used.Length).Where(m => r.Used[m] > r.Quota[m]).Select(m => r.MirrorIds[m]).ToList();
        var early = Enumerable.Range(0, r.Used.Length).Where(m => r.LastHourServed[m] < r.Hours - 24).Select(m => r.MirrorIds[m]).ToList();
        var ceilings = r.Quota.Sum() * QuotaBudget.DefaultCeilingShare;
        var share = r.Served / ceilings;
        return
        [
            new("no mirror exceeds its quota", over.Count == 0, over.Count == 0 ? "none" : string.Join(", ", over)),
            new("no mirror runs out before the month's last day (each still serves in it)", early.Count == 0,
                early.Count == 0 ? "none" : string.Join(", ", early)),
            new("the origin takes only the excess: mirrors serve ≥ 93% of their ceilings (95% of quota)", share >= 0.93,
                string.Create(Inv, $"{share:P1} of ceilings served")),
            new("every byte of demand is served by a mirror or the origin", r.Served + r.ToOrigin == r.Demand,
                string.Create(Inv, $"demand {r.Demand / 1e12:F1} TB = mirrors {r.Served / 1e12:F1} TB + origin {r.ToOrigin / 1e12:F1} TB")),
        ];
    }
}
