namespace Downloads.Contracts.Mirrors;

/// <summary>
/// A mirror's transfer quota spread over its billing period, so a donated host is never cut off and never
/// surprised: at any moment it may have used its <see cref="Allowance"/> (a linear budget plus a burst); as it
/// nears that, the capacity the redirector believes it has falls smoothly to nothing, and past the hard
/// ceiling it gets no new redirects at all. All arithmetic takes the time as an argument (the callers
/// read it from a <see cref="TimeProvider"/>). The period is the UTC calendar month: the usage counter is kept
/// per calendar month (<c>dl:m:{id}:month:yyyyMM</c>).
/// </summary>
public readonly record struct QuotaBudget(long QuotaBytes, double BurstShare, double CeilingShare)
{
    /// <summary>Default burst allowance: 10% of the quota beyond the linear budget.</summary>
    public const double DefaultBurstShare = 0.10;

    /// <summary>Default hard ceiling: no new redirects past 95% of the quota.</summary>
    public const double DefaultCeilingShare = 0.95;

    // With no burst the fall would be a step: the pace falls over at least this share of the quota.
    private const double MinRamp = 0.01;

    /// <summary>Start and end (exclusive) of the billing period holding <paramref name="now"/>.</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) Period(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }

    /// <summary>Share of the billing period elapsed at <paramref name="now"/>, 0–1.</summary>
    public static double Elapsed(DateTimeOffset now)
    {
        var (start, end) = Period(now);
        return Math.Clamp((now - start) / (end - start), 0, 1);
    }

    /// <summary>
    /// What the mirror may have used by <paramref name="now"/> at full share, bytes: the ceiling spread linearly over
    /// the period, plus a burst allowance that is whole at the period's start (a launch) and shrinks to nothing at
    /// its end, so that a mirror kept at its budget reaches the ceiling only as the period ends, never days before.
    /// </summary>
    public double Allowance(DateTimeOffset now)
    {
        var f = Elapsed(now);
        return QuotaBytes * ((CeilingShare * f) + (BurstShare * (1 - f)));
    }

    /// <summary>
    /// The share (0–1) of its capacity the mirror may be given now, having used <paramref name="usedBytes"/> this
    /// period: 1 until it comes within a ramp (a quarter of the burst, at least 1% of the quota) of its
    /// <see cref="Allowance"/>, then falling linearly to 0 at the allowance; 0 from the ceiling on. 1 without a quota.
    /// A mirror held at its allowance therefore lasts the whole period.
    /// </summary>
    public double Pace(long usedBytes, DateTimeOffset now)
    {
        if (QuotaBytes <= 0)
            return 1;
        if (usedBytes >= CeilingShare * QuotaBytes)
            return 0;
        var left = Allowance(now) - usedBytes;
        var ramp = QuotaBytes * Math.Max(BurstShare / 4, MinRamp);
        return Math.Clamp(left / ramp, 0, 1);
    }

    /// <summary>
    /// When the quota runs out at the period's mean rate so far (null when it does not within the period, or there is
    /// no quota); now when it already has. The first hour of a period counts as an hour, so a few early bytes do not
    /// project to anything.
    /// </summary>
    public DateTimeOffset? RunsOutAt(long usedBytes, DateTimeOffset now)
    {
        if (QuotaBytes <= 0)
            return null;
        if (usedBytes >= QuotaBytes)
            return now;
        var (start, end) = Period(now);
        var elapsed = now - start;
        var perSecond = usedBytes / Math.Max(elapsed.TotalSeconds, 3600);
        if (perSecond <= 0)
            return null;
        var at = now + TimeSpan.FromSeconds((QuotaBytes - usedBytes) / perSecond);
        return at < end ? at : null;
    }
}
