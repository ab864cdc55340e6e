using Downloads.LaunchDay.Model;
using Xunit.Abstractions;

namespace Downloads.EndToEnd.Tests.LaunchDay;

/// <summary>
/// The launch-day simulator's model scenarios (bench/launchday/Model) with their pass/fail criteria: simulated time
/// (no clock is read), seeded randomness, the real snapshot builder and selector. The plots stay a benchmark
/// (<c>dotnet run --project bench/launchday -- models</c>).
/// </summary>
public class LaunchDayModelTests(ITestOutputHelper output)
{
    private void Show(IEnumerable<Verdict> verdicts)
    {
        foreach (var v in verdicts)
            output.WriteLine($"{(v.Pass ? "pass" : "FAIL")}: {v.Criterion} ({v.Detail})");
    }

    [Fact]
    public void Surge_while_syncing_the_reserve_keeps_sync_admitted_and_every_mirror_gets_the_release()
    {
        var setup = new SyncSurgeSetup();
        var shipped = SurgeWhileSyncing.Run(setup);
        var verdicts = Verdict.Of(shipped);
        Show(verdicts);
        Assert.All(verdicts, v => Assert.True(v.Pass, $"{v.Criterion}: {v.Detail}"));
        // The origin was the bottleneck meanwhile: it refused public clients and was full.
        Assert.True(shipped.Refused503.Sum() > 0, "the surge never filled the origin: the scenario tests nothing");
        Assert.Equal(setup.Limits.MaxRequests - setup.Limits.ReservedForMirrors, shipped.OriginOpenPublic.Max());

        // The same surge without the mirrors' reserve: sync is refused, and the release does not reach every mirror.
        var control = SurgeWhileSyncing.Run(setup with { Limits = new() { ReservedForMirrors = 0 } });
        var without = Verdict.Of(control);
        Show(without);
        Assert.True(control.SyncRefused > 0);
        Assert.Contains(-1, control.SyncedAt);
    }

    [Fact]
    public void Surge_while_syncing_is_deterministic()
    {
        var setup = new SyncSurgeSetup { Seconds = 300 };
        var a = SurgeWhileSyncing.Run(setup);
        var b = SurgeWhileSyncing.Run(setup);
        Assert.Equal(a.ToOrigin, b.ToOrigin);
        Assert.Equal(a.SyncedAt, b.SyncedAt);
    }

    [Fact]
    public void Compressed_month_with_demand_at_twice_the_quotas_keeps_every_mirror_within_and_serving_to_the_end()
    {
        var month = CompressedMonth.Run(new MonthSetup { Scale = 0.1 });
        var verdicts = Verdict.Of(month);
        Show(verdicts);
        Assert.All(verdicts, v => Assert.True(v.Pass, $"{v.Criterion}: {v.Detail}"));
        Assert.True(month.Demand >= 1.9 * month.Quota.Sum(), "demand is about twice the quotas");
        for (var m = 0; m < month.Quota.Length; m++)
        {
            // Paced: about half spent at mid-month (the allowance then is 52.5%), not all of it.
            var mid = (double)month.UsedByHour[(month.Hours / 2) - 1][m] / month.Quota[m];
            Assert.InRange(mid, 0.45, 0.6);
        }
    }
}
