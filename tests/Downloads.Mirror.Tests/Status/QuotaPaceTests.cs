using Downloads.Mirror.Status;

namespace Downloads.Mirror.Tests.Status;

public sealed class QuotaPaceTests
{
    private static readonly DateTimeOffset MidDecember = new(2026, 12, 16, 12, 0, 0, TimeSpan.Zero); // 15.5 of 31 days

    [Fact]
    public void Half_the_month_gone_and_a_quarter_used_forecasts_half_of_the_quota()
    {
        var pace = QuotaPace.At(MidDecember, usedBytes: 1_000_000_000_000, quotaBytes: 4_000_000_000_000);
        Assert.Equal(31, pace.DaysInMonth);
        Assert.Equal(15.5, pace.ElapsedDays, 6);
        Assert.InRange(pace.ForecastBytes, 1_999_999_000_000, 2_000_001_000_000); // the rate is the month's mean
        Assert.Equal(0.25, pace.UsedShare, 6);
        Assert.Null(pace.RunsOutAt);
    }

    [Fact]
    public void A_pace_past_the_quota_says_when_it_runs_out()
    {
        // 3 TB in 15.5 days: 4 TB are reached after 20.67 days, on 21 December at 16:00.
        var pace = QuotaPace.At(MidDecember, usedBytes: 3_000_000_000_000, quotaBytes: 4_000_000_000_000);
        Assert.InRange(pace.ForecastBytes, 5_999_999_000_000, 6_000_001_000_000);
        Assert.NotNull(pace.RunsOutAt);
        Assert.Equal(new DateTimeOffset(2026, 12, 21, 16, 0, 0, TimeSpan.Zero), pace.RunsOutAt!.Value, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_used_up_quota_ran_out_now_and_no_quota_never_runs_out()
    {
        Assert.Equal(MidDecember, QuotaPace.At(MidDecember, 5, 5).RunsOutAt);
        var unlimited = QuotaPace.At(MidDecember, 3_000_000_000_000, 0);
        Assert.Null(unlimited.RunsOutAt);
        Assert.Equal(0, unlimited.UsedShare);
    }

    [Fact]
    public void The_first_minutes_of_a_month_do_not_project_a_burst_over_the_whole_month()
    {
        // 1 GB in the first minute would be 44 TB at that rate; the pace counts at least an hour.
        var pace = QuotaPace.At(new DateTimeOffset(2026, 2, 1, 0, 1, 0, TimeSpan.Zero), 1_000_000_000, 0);
        Assert.Equal(28, pace.DaysInMonth);
        Assert.InRange(pace.ForecastBytes, 600_000_000_000, 700_000_000_000);
    }
}
