using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>The usage window behind the quota forecast: the rate over the recent window, the mean until it is covered.</summary>
public sealed class UsageWindowTests
{
    private const long TB = 1_000_000_000_000;
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly QuotaBudget Budget = new(10 * TB, 0.1, 0.95);

    /// <summary>A window with one reading: 1 TB used by midnight on 11 January, on <see cref="Budget"/>.</summary>
    private static (DateTimeOffset At, UsageWindow Window) OneTerabyteOn11January()
    {
        var at = new DateTimeOffset(2027, 1, 11, 0, 0, 0, TimeSpan.Zero);
        var window = new UsageWindow();
        window.Add(at, 1 * TB, Budget, Hour);
        return (at, window);
    }

    [Fact]
    public void The_period_mean_is_used_until_a_sixth_of_the_window_is_covered_then_the_rate_across_it()
    {
        var (t0, window) = OneTerabyteOn11January();
        Assert.Null(window.Forecast.RecentBps);
        Assert.Equal(Budget.ExhaustionAt(1 * TB, t0), window.Forecast.RunsOutAt);
        Assert.Equal(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero), window.Forecast.PeriodEnd);

        window.Add(t0.AddMinutes(9), 1 * TB + 540_000_000, Budget, Hour);
        Assert.Null(window.Forecast.RecentBps);

        window.Add(t0.AddMinutes(10), 1 * TB + 600_000_000, Budget, Hour);
        Assert.Equal(1_000_000, window.Forecast.RecentBps!.Value, 6);
        Assert.Equal(TimeSpan.FromMinutes(10), window.Forecast.RecentSpan);
        Assert.Equal(t0.AddMinutes(10) + TimeSpan.FromSeconds((9 * TB - 600_000_000) / 1e6), window.Forecast.RunsOutAt);
    }

    [Fact]
    public void Readings_older_than_the_window_are_dropped_and_a_new_period_starts_afresh()
    {
        var t0 = new DateTimeOffset(2027, 1, 31, 20, 0, 0, TimeSpan.Zero);
        var window = new UsageWindow();
        long used = 1 * TB;
        // Two hours at 1 MB/s, then one at 4 MB/s: the rate is the last hour's.
        for (var m = 0; m <= 180; m++)
        {
            window.Add(t0.AddMinutes(m), used, Budget, Hour);
            used += m < 120 ? 60_000_000 : 240_000_000;
        }
        Assert.InRange(window.Forecast.RecentBps!.Value, 3_900_000, 4_000_000);
        Assert.InRange(window.Forecast.RecentSpan, TimeSpan.FromMinutes(55), Hour);

        // 1 Feb: a new period's counter starts at 0, the old readings are not mixed in.
        window.Add(new DateTimeOffset(2027, 2, 1, 0, 0, 30, TimeSpan.Zero), 5_000_000, Budget, Hour);
        Assert.Null(window.Forecast.RecentBps);
        Assert.Equal(new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero), window.Forecast.PeriodEnd);
    }

    [Fact]
    public void A_new_budget_moves_the_forecast_at_the_next_reading_even_when_the_counter_did_not_move()
    {
        var (t0, window) = OneTerabyteOn11January();
        // A second later, no new bytes and no new point: only ops raised the quota.
        var raised = Budget with { QuotaBytes = 20 * TB };
        window.Add(t0.AddSeconds(1), 1 * TB, raised, Hour);
        Assert.Equal(raised.ExhaustionAt(1 * TB, t0.AddSeconds(1)), window.Forecast.RunsOutAt);

        // A new billing day likewise (the 11th: the period that began today ends on 11 Feb).
        var billed = raised with { BillingDay = 11 };
        window.Add(t0.AddSeconds(2), 1 * TB, billed, Hour);
        Assert.Equal(new DateTimeOffset(2027, 2, 11, 0, 0, 0, TimeSpan.Zero), window.Forecast.PeriodEnd);
    }

    [Fact]
    public void A_reading_no_newer_than_the_last_changes_nothing()
    {
        var (t0, window) = OneTerabyteOn11January();
        var forecast = window.Forecast;
        window.Add(t0, 2 * TB, Budget, Hour);
        window.Add(DateTimeOffset.MinValue, 3 * TB, Budget, Hour);
        Assert.Same(forecast, window.Forecast);
    }
}
