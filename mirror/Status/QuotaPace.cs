namespace Downloads.Mirror.Status;

/// <summary>
/// Where this billing period's transfer is heading: the bytes served so far in the period (the same period the
/// usage counter counts, <see cref="Contracts.Mirrors.QuotaPeriod"/>) projected to the period's end at its mean
/// rate so far, and the day the quota runs out at that pace.
/// </summary>
internal readonly record struct QuotaPace(long UsedBytes, long QuotaBytes, double ElapsedDays, int DaysInMonth, long ForecastBytes, DateTimeOffset? RunsOutAt)
{
    /// <summary>Start of the billing period (midnight UTC of the billing day).</summary>
    public DateTimeOffset PeriodStart { get; init; }

    /// <summary>End (exclusive) of the billing period.</summary>
    public DateTimeOffset PeriodEnd { get; init; }

    /// <summary>Whether the period is the calendar month (billing day 1).</summary>
    public bool CalendarMonth => PeriodStart.UtcDateTime.Day == 1;

    /// <summary>Share of the quota used, 0 when there is no quota.</summary>
    public double UsedShare => QuotaBytes > 0 ? (double)UsedBytes / QuotaBytes : 0;

    /// <summary>Share of the quota the month will use at this pace, 0 when there is no quota.</summary>
    public double ForecastShare => QuotaBytes > 0 ? (double)ForecastBytes / QuotaBytes : 0;

    /// <summary>Computes the pace at <paramref name="now"/> for <paramref name="usedBytes"/> served this month.</summary>
    public static QuotaPace At(DateTimeOffset now, long usedBytes, long quotaBytes, int billingDay = Contracts.Mirrors.QuotaPeriod.DefaultBillingDay)
    {
        var (start, end) = Contracts.Mirrors.QuotaPeriod.At(now, billingDay);
        var elapsed = now - start;
        var month = end - start;
        // In the first minutes of a month a few bytes would project to anything: count at least an hour.
        var elapsedForRate = elapsed < TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : elapsed;
        var perSecond = usedBytes / elapsedForRate.TotalSeconds;
        var forecast = (long)Math.Min(long.MaxValue, usedBytes + (perSecond * (end - now).TotalSeconds));
        DateTimeOffset? runsOut = null;
        if (quotaBytes > 0 && usedBytes >= quotaBytes)
            runsOut = now;
        else if (quotaBytes > 0 && forecast > quotaBytes && perSecond > 0)
            runsOut = now + TimeSpan.FromSeconds((quotaBytes - usedBytes) / perSecond);
        return new QuotaPace(usedBytes, quotaBytes, elapsed.TotalDays, (int)Math.Round(month.TotalDays), forecast, runsOut)
        {
            PeriodStart = start,
            PeriodEnd = end,
        };
    }
}
