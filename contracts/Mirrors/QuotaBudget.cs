namespace Downloads.Contracts.Mirrors;

/// <summary>
/// A mirror's transfer quota spread over its billing period, so a donated host is never cut off and never
/// surprised: at any moment it may have used its <see cref="Allowance"/> (a linear budget plus a burst); as it
/// nears that, the capacity the redirector believes it has falls smoothly to nothing, and past the hard
/// ceiling it gets no new redirects at all. All arithmetic takes the time as an argument (the callers
/// read it from a <see cref="TimeProvider"/>). The period runs from the mirror's <see cref="BillingDay"/> to the
/// same day of the next month (<see cref="QuotaPeriod"/>; by default the UTC calendar month), and its usage counter
/// is named by its start (<see cref="Redis.Keyspace.MirrorPeriodBytes(string, QuotaPeriod)"/>).
/// </summary>
public readonly record struct QuotaBudget(long QuotaBytes, double BurstShare, double CeilingShare)
{
    private readonly int _billingDay;

    /// <summary>Day of the month (1–28) the mirror's billing period starts, 1 by default (the calendar month).</summary>
    public int BillingDay
    {
        get => _billingDay == 0 ? QuotaPeriod.DefaultBillingDay : _billingDay;
        init => _billingDay = QuotaPeriod.IsBillingDay(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(BillingDay), value, "a billing day is 1-28");
    }

    /// <summary>The billing period holding <paramref name="now"/> for this budget's <see cref="BillingDay"/>.</summary>
    public QuotaPeriod PeriodAt(DateTimeOffset now) => QuotaPeriod.At(now, BillingDay);

    /// <summary>Default burst allowance: 10% of the quota beyond the linear budget.</summary>
    public const double DefaultBurstShare = 0.10;

    /// <summary>Default hard ceiling: no new redirects past 95% of the quota.</summary>
    public const double DefaultCeilingShare = 0.95;

    // With no burst the fall would be a step: the pace falls over at least this share of the quota.
    private const double MinRamp = 0.01;

    /// <summary>Start and end (exclusive) of the calendar month holding <paramref name="now"/> (billing day 1; <see cref="PeriodAt"/> for others).</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) Period(DateTimeOffset now)
    {
        var p = QuotaPeriod.At(now);
        return (p.Start, p.End);
    }

    /// <summary>Share of the calendar month elapsed at <paramref name="now"/>, 0–1 (billing day 1).</summary>
    public static double Elapsed(DateTimeOffset now) => QuotaPeriod.At(now).Elapsed(now);

    /// <summary>
    /// What the mirror may have used by <paramref name="now"/> at full share, bytes: the ceiling spread linearly over
    /// the period, plus a burst allowance that is whole at the period's start (a launch) and shrinks to nothing at
    /// its end, so that a mirror kept at its budget reaches the ceiling only as the period ends, never days before.
    /// </summary>
    public double Allowance(DateTimeOffset now)
    {
        var f = PeriodAt(now).Elapsed(now);
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
        var period = PeriodAt(now);
        var perSecond = usedBytes / Math.Max((now - period.Start).TotalSeconds, 3600);
        return RunsOutAt(usedBytes, now, perSecond);
    }

    /// <summary>
    /// When the quota runs out at the period's mean rate so far (the first hour counting as an hour), whether or not
    /// that falls inside the period: null without a quota or without any use yet; now when it already has. The
    /// forecast ops see; <see cref="RunsOutAt(long, DateTimeOffset)"/> is the same bounded by the period's end.
    /// </summary>
    public DateTimeOffset? ExhaustionAt(long usedBytes, DateTimeOffset now) => ExhaustionAt(usedBytes, now, MeanRate(usedBytes, now));

    /// <summary>
    /// When the quota runs out at <paramref name="bytesPerSecond"/> from <paramref name="now"/> on, whether or not that
    /// falls inside the period: null without a quota or without a rate; now when it already has. The forecast ops see,
    /// on the mirror's recent rate when the redirector has one (its <c>UsageWindow</c>), else its mean.
    /// </summary>
    public DateTimeOffset? ExhaustionAt(long usedBytes, DateTimeOffset now, double bytesPerSecond)
    {
        if (QuotaBytes <= 0)
            return null;
        if (usedBytes >= QuotaBytes)
            return now;
        if (!(bytesPerSecond > 0) || !double.IsFinite(bytesPerSecond))
            return null;
        // Capped at ten years: a trickle against a huge quota stays a representable time.
        return now + TimeSpan.FromSeconds(Math.Min((QuotaBytes - usedBytes) / bytesPerSecond, 10 * 366 * 86400.0));
    }

    /// <summary>
    /// The mirror's mean rate so far this period, bytes/s, the first hour counting as an hour (so a few early bytes do not
    /// project to anything).
    /// </summary>
    public double MeanRate(long usedBytes, DateTimeOffset now) =>
        Math.Max(0, usedBytes) / Math.Max((now - PeriodAt(now).Start).TotalSeconds, 3600);

    /// <summary>
    /// When the quota runs out at <paramref name="bytesPerSecond"/> from <paramref name="now"/> on (null when it
    /// does not within the period, or there is no quota, or no rate); now when it already has.
    /// </summary>
    public DateTimeOffset? RunsOutAt(long usedBytes, DateTimeOffset now, double bytesPerSecond)
    {
        if (QuotaBytes <= 0)
            return null;
        if (usedBytes >= QuotaBytes)
            return now;
        if (!(bytesPerSecond > 0) || !double.IsFinite(bytesPerSecond))
            return null;
        var seconds = (QuotaBytes - usedBytes) / bytesPerSecond;
        var end = PeriodAt(now).End;
        if (seconds >= (end - now).TotalSeconds)
            return null;
        return now + TimeSpan.FromSeconds(seconds);
    }
}
