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
    public void Surge_while_syncing_the_reserve_keeps_sync_admitted_and_the_bandwidth_share_brings_the_release_to_every_mirror_in_minutes()
    {
        var setup = new SyncSurgeSetup();
        var told = SurgeWhileSyncing.Run(setup);
        var verdicts = Verdict.Of(told, setup);
        Show(verdicts);
        Assert.All(verdicts, v => Assert.True(v.Pass, $"{v.Criterion}: {v.Detail}"));
        // The origin was the bottleneck meanwhile: it refused public clients and was full.
        Assert.True(told.Refused503.Sum() > 0, "the surge never filled the origin: the scenario tests nothing");
        Assert.Equal(setup.Limits.MaxRequests - setup.Limits.ReservedForMirrors, told.OriginOpenPublic.Max());

        // Permits only (the link unknown, as shipped): sync is admitted and gets there, but only after many minutes.
        var permits = SurgeWhileSyncing.Run(setup with { LinkConfigured = false });
        var slow = Verdict.Of(permits, setup);
        Show(slow);
        Assert.Equal(0, permits.SyncRefused);
        Assert.DoesNotContain(-1, permits.SyncedAt);
        Assert.True(permits.SyncedAt.Max() - setup.PublishAt > Verdict.SyncDeadlineSeconds, "without the share the release took minutes as well");
        Assert.True(permits.Refused503.Sum() > 10 * told.Refused503.Sum(), "the share turns fewer clients away");

        // Neither the reserve nor the share: sync is refused, and the release does not reach every mirror.
        var control = SurgeWhileSyncing.Run(setup with { LinkConfigured = false, Limits = new() { ReservedForMirrors = 0 } });
        Show(Verdict.Of(control, setup));
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
