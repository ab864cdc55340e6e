namespace Downloads.Redirector.Snapshots;

/// <summary>
/// A mirror's quota forecast as of <see cref="At"/>'s reading: when its quota runs out (<see cref="RunsOutAt"/>, null: no
/// quota, or no rate) at <see cref="RateBps"/>, the rate over the recent window (<see cref="RecentBps"/>) when one is
/// covered, else the period's mean (<see cref="MeanBps"/>). Immutable: built by <see cref="UsageWindow"/> on the
/// refresher's thread, read by the dashboard and the metrics on theirs.
/// </summary>
internal sealed record QuotaForecast
{
    /// <summary>No reading yet: no forecast, the period of the epoch.</summary>
    public static QuotaForecast None { get; } = new();

    /// <summary>Time of the usage reading the forecast is made from.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>When the quota runs out at <see cref="RateBps"/>; null without a quota or without a rate; <see cref="At"/> when it already has.</summary>
    public DateTimeOffset? RunsOutAt { get; init; }

    /// <summary>End (exclusive) of the billing period holding <see cref="At"/>.</summary>
    public DateTimeOffset PeriodEnd { get; init; }

    /// <summary>Rate over the recent window, bytes/s; null while the window covers too little (just after start, a new period).</summary>
    public double? RecentBps { get; init; }

    /// <summary>How long the recent rate was measured over (zero without one).</summary>
    public TimeSpan RecentSpan { get; init; }

    /// <summary>Mean rate so far this period, bytes/s (the first hour counting as an hour).</summary>
    public double MeanBps { get; init; }

    /// <summary>The rate the forecast is made at: the recent one when there is one, else the mean.</summary>
    public double RateBps => RecentBps ?? MeanBps;

    /// <summary>Whether the quota is forecast to run out inside the current billing period.</summary>
    public bool Warning => RunsOutAt is { } at && at < PeriodEnd;
}
