using Downloads.Contracts.Mirrors;

namespace Downloads.Contracts.Tests.Mirrors;

public class QuotaBudgetTests
{
    private const long TB = 1_000_000_000_000;
    private static readonly DateTimeOffset March = new(2027, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly QuotaBudget FiveTB = new(5 * TB, BurstShare: 0.10, CeilingShare: 0.95);

    [Fact]
    public void The_allowance_starts_at_the_burst_and_reaches_the_ceiling_only_at_the_periods_end()
    {
        Assert.Equal(0.10 * 5 * TB, FiveTB.Allowance(March), 1);
        Assert.Equal(((0.95 * 0.5) + (0.10 * 0.5)) * 5 * TB, FiveTB.Allowance(March.AddDays(15.5)), 1);
        Assert.Equal(0.95 * 5 * TB, FiveTB.Allowance(March.AddMonths(1).AddTicks(-1)), 1e6);
        Assert.Equal(0.10 * 5 * TB, FiveTB.Allowance(March.AddMonths(1)), 1); // April starts afresh
    }

    [Fact]
    public void The_pace_is_whole_until_near_the_allowance_falls_smoothly_to_nothing_at_it_and_is_nothing_past_the_ceiling()
    {
        var mid = March.AddDays(15.5);
        var allowance = (long)FiveTB.Allowance(mid);
        var ramp = (long)(0.025 * 5 * TB); // a quarter of the 10% burst
        Assert.Equal(1, FiveTB.Pace(0, mid));
        Assert.Equal(1, FiveTB.Pace(allowance - ramp, mid));
        Assert.Equal(0.5, FiveTB.Pace(allowance - (ramp / 2), mid), 3);
        Assert.Equal(0, FiveTB.Pace(allowance, mid));
        Assert.Equal(0, FiveTB.Pace((long)(0.95 * 5 * TB), March.AddDays(30.9)));
        Assert.Equal(1, new QuotaBudget(0, 0.1, 0.95).Pace(long.MaxValue, mid));
        // No burst: the fall still takes 1% of the quota, not a step.
        var strict = new QuotaBudget(5 * TB, 0, 0.95);
        Assert.InRange(strict.Pace((long)strict.Allowance(mid) - (long)(0.005 * 5 * TB), mid), 0.49, 0.51);
    }

    [Fact]
    public void Running_out_is_forecast_at_the_periods_mean_rate_so_far()
    {
        // 2 TB in 10 days: 0.2 TB a day, 3 TB left → 15 more days, inside March.
        Assert.Equal(March.AddDays(25), FiveTB.RunsOutAt(2 * TB, March.AddDays(10)));
        // 1 TB in 10 days: 4 TB left need 40 days → not this period.
        Assert.Null(FiveTB.RunsOutAt(1 * TB, March.AddDays(10)));
        Assert.Equal(March.AddDays(3), FiveTB.RunsOutAt(5 * TB, March.AddDays(3)));
        Assert.Null(new QuotaBudget(0, 0.1, 0.95).RunsOutAt(5 * TB, March.AddDays(3)));
    }
}
