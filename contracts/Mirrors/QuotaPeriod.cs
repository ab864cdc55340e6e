namespace Downloads.Contracts.Mirrors;

/// <summary>
/// A mirror's billing period, [<see cref="Start"/>, <see cref="End"/>) in UTC: from midnight of its billing day
/// (1–28, so every month has it) to the same day of the next month. The one place the period is computed; callers
/// pass the time they read from a <see cref="TimeProvider"/>. The usage counter of a period is named by its start
/// (<see cref="Redis.Keyspace.MirrorPeriodBytes(string, QuotaPeriod)"/>).
/// </summary>
public readonly record struct QuotaPeriod(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>First billing day allowed.</summary>
    public const int MinBillingDay = 1;

    /// <summary>Last billing day allowed: every month has a 28th, so a period is always one month long.</summary>
    public const int MaxBillingDay = 28;

    /// <summary>Billing day of a mirror without one: the calendar month.</summary>
    public const int DefaultBillingDay = 1;

    /// <summary>Whether <paramref name="day"/> is a billing day (1–28).</summary>
    public static bool IsBillingDay(int day) => day is >= MinBillingDay and <= MaxBillingDay;

    /// <summary>The period holding <paramref name="now"/> for a mirror billed on <paramref name="billingDay"/> (1–28).</summary>
    public static QuotaPeriod At(DateTimeOffset now, int billingDay = DefaultBillingDay)
    {
        if (!IsBillingDay(billingDay))
            throw new ArgumentOutOfRangeException(nameof(billingDay), billingDay, "a billing day is 1-28");
        var utc = now.UtcDateTime;
        var start = new DateTimeOffset(utc.Year, utc.Month, billingDay, 0, 0, 0, TimeSpan.Zero);
        if (utc.Day < billingDay)
            start = start.AddMonths(-1);
        return new(start, start.AddMonths(1));
    }

    /// <summary>The period before this one.</summary>
    public QuotaPeriod Previous => new(Start.AddMonths(-1), Start);

    /// <summary>The period after this one.</summary>
    public QuotaPeriod Next => new(End, End.AddMonths(1));

    /// <summary>Length of the period (28–31 days).</summary>
    public TimeSpan Length => End - Start;

    /// <summary>Whether <paramref name="when"/> falls inside the period.</summary>
    public bool Contains(DateTimeOffset when) => when >= Start && when < End;

    /// <summary>Share of the period elapsed at <paramref name="now"/>, 0–1.</summary>
    public double Elapsed(DateTimeOffset now) => Math.Clamp((now - Start) / Length, 0, 1);
}
