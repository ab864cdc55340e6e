using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;

namespace Downloads.Contracts.Tests.Mirrors;

public class QuotaPeriodTests
{
    private const long TB = 1_000_000_000_000;

    private static DateTimeOffset Utc(int y, int m, int d, int h = 0, int min = 0, int s = 0) => new(y, m, d, h, min, s, TimeSpan.Zero);

    [Fact]
    public void Billing_day_15_periods_run_from_the_15th_to_the_15th_across_month_and_year_ends()
    {
        Assert.Equal(new QuotaPeriod(Utc(2026, 12, 15), Utc(2027, 1, 15)), QuotaPeriod.At(Utc(2027, 1, 14, 23, 59, 59), 15));
        Assert.Equal(new QuotaPeriod(Utc(2027, 1, 15), Utc(2027, 2, 15)), QuotaPeriod.At(Utc(2027, 1, 15), 15));
        // February: 28 days, 29 in a leap year; a 31-day month on the other side.
        Assert.Equal(TimeSpan.FromDays(28), QuotaPeriod.At(Utc(2027, 2, 20), 15).Length);
        Assert.Equal(TimeSpan.FromDays(29), QuotaPeriod.At(Utc(2028, 2, 20), 15).Length);
        Assert.Equal(TimeSpan.FromDays(31), QuotaPeriod.At(Utc(2027, 1, 31, 23), 15).Length);
        var p = QuotaPeriod.At(Utc(2027, 3, 1), 15);
        Assert.Equal(new QuotaPeriod(Utc(2027, 1, 15), Utc(2027, 2, 15)), p.Previous);
        Assert.Equal(new QuotaPeriod(Utc(2027, 3, 15), Utc(2027, 4, 15)), p.Next);
        // An offset time is the same instant: the period is UTC.
        Assert.Equal(QuotaPeriod.At(Utc(2027, 1, 14, 23), 15), QuotaPeriod.At(new DateTimeOffset(2027, 1, 15, 1, 0, 0, TimeSpan.FromHours(2)), 15));
    }

    [Fact]
    public void Billing_day_28_fits_every_month_and_the_31st_falls_in_the_period_of_the_28th()
    {
        Assert.Equal(new QuotaPeriod(Utc(2027, 1, 28), Utc(2027, 2, 28)), QuotaPeriod.At(Utc(2027, 1, 31, 12), 28));
        Assert.Equal(new QuotaPeriod(Utc(2027, 2, 28), Utc(2027, 3, 28)), QuotaPeriod.At(Utc(2027, 3, 27), 28));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuotaPeriod.At(Utc(2027, 1, 1), 29));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuotaPeriod.At(Utc(2027, 1, 1), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuotaBudget(TB, 0.1, 0.95) { BillingDay = 31 });
    }

    [Fact]
    public void The_usage_key_is_named_by_the_periods_start_and_billing_day_1_keeps_the_calendar_month_name()
    {
        Assert.Equal("dl:m:{m1}:month:202701", Keyspace.MirrorPeriodBytes("m1", Utc(2027, 1, 31), 1).ToString());
        Assert.Equal(Keyspace.MirrorMonthBytes("m1", Utc(2027, 1, 31)), Keyspace.MirrorPeriodBytes("m1", Utc(2027, 1, 31), 1));
        Assert.Equal("dl:m:{m1}:month:20261215", Keyspace.MirrorPeriodBytes("m1", Utc(2027, 1, 14, 23, 59, 59), 15).ToString());
        Assert.Equal("dl:m:{m1}:month:20270115", Keyspace.MirrorPeriodBytes("m1", Utc(2027, 1, 15), 15).ToString());
        Assert.Equal(
            ["dl:m:{m1}:info", "dl:m:{m1}:state", "dl:m:{m1}:alive", "dl:m:{m1}:month:20261115", "dl:m:{m1}:month:20261215", "dl:m:{m1}:month:20270115"],
            Keyspace.MirrorWritableKeys("m1", Utc(2027, 1, 3), 15));
        Assert.Equal(Keyspace.MirrorWritableKeys("m1", Utc(2027, 1, 3), 1), Keyspace.MirrorWritableKeys("m1", Utc(2027, 1, 3)));
    }

    [Fact]
    public void With_billing_day_15_the_allowance_and_pace_reset_on_the_15th_not_the_1st()
    {
        var budget = new QuotaBudget(5 * TB, 0.10, 0.95) { BillingDay = 15 };
        var lastSecond = Utc(2027, 1, 14, 23, 59, 59);
        Assert.Equal(0.95 * 5 * TB, budget.Allowance(lastSecond), 1e7);
        Assert.Equal(0.10 * 5 * TB, budget.Allowance(Utc(2027, 1, 15)), 1);
        // Mid-period by the calendar month (1 Jan) is nothing special: 17 of 31 days in.
        Assert.Equal(((0.95 * 17 / 31) + (0.10 * 14 / 31)) * 5 * TB, budget.Allowance(Utc(2027, 1, 1)), 1e3);
        // 4.5 TB used since 15 Dec: paced to nothing on the 10th (allowance ~4.07 TB), whole again with a fresh counter on the 15th.
        Assert.Equal(0, budget.Pace(4_500_000_000_000, Utc(2027, 1, 10)));
        Assert.Equal(1, budget.Pace(0, Utc(2027, 1, 15)));
        // The default budget (billing day 1) is the calendar month it always was.
        Assert.Equal(QuotaBudget.Period(Utc(2027, 1, 10)), (Utc(2027, 1, 1), Utc(2027, 2, 1)));
        Assert.Equal(QuotaPeriod.At(Utc(2027, 1, 10)), new QuotaBudget(TB, 0.1, 0.95).PeriodAt(Utc(2027, 1, 10)));
    }

    [Fact]
    public void The_exhaustion_forecast_is_at_the_periods_mean_rate_and_says_whether_it_falls_inside_the_period()
    {
        var budget = new QuotaBudget(5 * TB, 0.10, 0.95) { BillingDay = 15 };
        // 10 days into the period (15 Jan - 15 Feb), 2 TB used: 0.2 TB a day, so 3 TB more take 15 days: 9 Feb.
        Assert.Equal(Utc(2027, 2, 9), budget.ExhaustionAt(2 * TB, Utc(2027, 1, 25)));
        Assert.Equal(Utc(2027, 2, 9), budget.RunsOutAt(2 * TB, Utc(2027, 1, 25)));
        // 1 TB used: 0.1 TB a day, 40 more days, past the period's end: a forecast, but no warning.
        Assert.Equal(Utc(2027, 3, 6), budget.ExhaustionAt(1 * TB, Utc(2027, 1, 25)));
        Assert.Null(budget.RunsOutAt(1 * TB, Utc(2027, 1, 25)));
        Assert.Equal(Utc(2027, 1, 25), budget.ExhaustionAt(5 * TB, Utc(2027, 1, 25)));
        Assert.Null(budget.ExhaustionAt(0, Utc(2027, 1, 25)));
        Assert.Null(new QuotaBudget(0, 0.1, 0.95).ExhaustionAt(TB, Utc(2027, 1, 25)));
        // At an explicit rate: 1 TB left at 100 MB/s is 10^4 s.
        Assert.Equal(Utc(2027, 1, 25).AddSeconds(10_000), budget.RunsOutAt(4 * TB, Utc(2027, 1, 25), 100_000_000));
    }
}
