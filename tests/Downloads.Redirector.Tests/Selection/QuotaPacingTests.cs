using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Xunit.Abstractions;
using static Downloads.Redirector.Tests.Routing;

namespace Downloads.Redirector.Tests.Selection;

/// <summary>
/// A month compressed into hourly rounds on a fake clock, through the real <see cref="SnapshotBuilder"/> and
/// <see cref="MirrorSelector"/>: each round the mirrors report what they served (their month counter and their rate
/// over the last hour), the table is rebuilt, and that hour's downloads are drawn. Demand comes from London; three
/// mirrors there have quotas.
/// </summary>
public class QuotaPacingTests(ITestOutputHelper output)
{
    private const long GB = 1_000_000_000;
    private const long FileSize = 4 * GB;
    private static readonly DateTimeOffset March = new(2027, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private const int Hours = 31 * 24;

    private sealed record Month(long[] Used, long[] Quota, int[] LastHourServed, long ToOrigin, long[] UsedAtMidMonth, int LastHourToOrigin);

    private Month Run(Func<int, int> downloadsInHour, params (string Id, long QuotaBytes)[] mirrors)
    {
        var options = new RedirectorOptions { AccountOwnRedirects = false };
        var counters = new CounterRegistry();
        var file = File("os/image.img") with { Size = FileSize };
        var index = ManifestIndex.Build(Manifest(10, file), counters);
        var selector = new MirrorSelector(options, new Random(7));
        var records = mirrors.OrderBy(m => m.Id, StringComparer.Ordinal)
            .Select(m => Mirror(m.Id, 51.5074, -0.1278) with { QuotaBytes = m.QuotaBytes, CapacityMbps = 10_000 }).ToArray();
        var used = new long[records.Length];
        var lastHour = new long[records.Length];
        var lastServed = new int[records.Length];
        var midMonth = new long[records.Length];
        long toOrigin = 0;
        var lastToOrigin = -1;
        RoutingSnapshot? snapshot = null;
        Span<int> picks = stackalloc int[1];
        for (var hour = 0; hour < Hours; hour++)
        {
            var now = March.AddHours(hour);
            for (var m = 0; m < records.Length; m++)
                records[m] = records[m] with { MonthBytes = used[m], RateBps = lastHour[m] / 3600.0, BytesServed = used[m] };
            Array.Clear(lastHour);
            snapshot = SnapshotBuilder.Build(index, [.. records], options, counters, now, now, snapshot, now);
            var entry = snapshot.Entry(file.Path);
            for (var i = downloadsInHour(hour); i > 0; i--)
            {
                if (selector.Select(snapshot, entry, London, https: false, picks) == 0)
                {
                    toOrigin += FileSize;
                    lastToOrigin = hour;
                    continue;
                }
                var id = snapshot.Mirrors[picks[0]].Record.Id;
                var m = Array.FindIndex(records, r => r.Id == id);
                used[m] += FileSize;
                lastHour[m] += FileSize;
                lastServed[m] = hour;
            }
            if (hour == (Hours / 2) - 1)
                used.CopyTo(midMonth, 0);
        }
        var quotas = records.Select(r => r.QuotaBytes).ToArray();
        for (var m = 0; m < records.Length; m++)
            output.WriteLine($"{records[m].Id}: used {used[m] / GB} GB of {quotas[m] / GB} GB ({(double)used[m] / quotas[m]:P1}), mid-month {midMonth[m] / GB} GB, last served in hour {lastServed[m]} of {Hours}");
        output.WriteLine($"origin: {toOrigin / GB} GB");
        return new Month(used, quotas, lastServed, toOrigin, midMonth, lastToOrigin);
    }

    [Fact]
    public void When_demand_exceeds_every_quota_no_mirror_passes_its_quota_none_runs_out_early_and_the_origin_takes_only_the_excess()
    {
        // 44 TB of demand in the month (hourly 15 downloads of 4 GB) against 20 TB of quotas.
        var month = Run(_ => 15, ("a", 5_000 * GB), ("b", 7_000 * GB), ("c", 8_000 * GB));
        for (var m = 0; m < 3; m++)
        {
            Assert.True(month.Used[m] <= month.Quota[m], $"mirror {m} used {month.Used[m] / GB} GB of {month.Quota[m] / GB} GB");
            // Still serving in the month's last day: paced, not spent early.
            Assert.True(month.LastHourServed[m] >= Hours - 24, $"mirror {m} last served in hour {month.LastHourServed[m]}");
            // At mid-month it had spent about half (the allowance then is 52.5%), not all of it.
            Assert.InRange((double)month.UsedAtMidMonth[m] / month.Quota[m], 0.45, 0.54);
        }
        // The mirrors served nearly all they could (their ceilings, 95%); the origin took the rest.
        var served = month.Used.Sum();
        var ceilings = month.Quota.Sum() * 0.95;
        Assert.InRange(served, ceilings * 0.93, month.Quota.Sum());
        Assert.Equal((Hours * 15 * FileSize) - served, month.ToOrigin);
    }

    [Fact]
    public void A_launch_surge_spends_the_burst_then_the_rest_is_paced_and_the_origin_gets_nothing_once_quotas_catch_up()
    {
        // Two launch days at 40 downloads an hour, then 3 an hour: 11.8 TB against 20 TB of quotas.
        var month = Run(hour => hour < 48 ? 40 : 3, ("a", 5_000 * GB), ("b", 7_000 * GB), ("c", 8_000 * GB));
        for (var m = 0; m < 3; m++)
            Assert.True(month.Used[m] <= month.Quota[m] * 0.95, $"mirror {m} used {month.Used[m] / GB} GB");
        // The surge took each mirror's burst (10%) and its ramp at most, the origin the surge's remainder; within a
        // week the quotas' budgets caught up and the origin got nothing more.
        Assert.InRange(month.ToOrigin, 1, 48 * 40 * FileSize);
        Assert.InRange(month.LastHourToOrigin, 0, 24 * 7);
        Assert.Equal((48 * 40 * FileSize) + ((Hours - 48) * 3 * FileSize) - month.Used.Sum(), month.ToOrigin);
    }

    [Fact]
    public void Without_quotas_nothing_is_paced()
    {
        var month = Run(_ => 15, ("a", 0), ("b", 0));
        Assert.Equal(0, month.ToOrigin);
        Assert.Equal(Hours * 15 * FileSize, month.Used.Sum());
    }
}
