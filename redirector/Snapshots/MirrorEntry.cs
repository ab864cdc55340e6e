using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Snapshots;

/// <summary>One mirror as the request path sees it: the record plus everything precomputed from it.</summary>
internal sealed class MirrorEntry
{
    public required MirrorRecord Record { get; init; }

    /// <summary>Share of its capacity the mirror's quota budget allows (1 without a quota; <c>Eligibility.Pace</c>).</summary>
    public double Pace { get; init; } = 1;

    /// <summary>
    /// The mirror's usage counter over the recent window and the quota forecast made from it (shared by every snapshot
    /// that holds the mirror, so a reused entry still shows the latest reading).
    /// </summary>
    public required UsageWindow Usage { get; init; }

    /// <summary>The latest quota forecast (<see cref="UsageWindow.Forecast"/>).</summary>
    public QuotaForecast Forecast => Usage.Forecast;

    /// <summary>
    /// When the mirror's quota runs out at its current rate (over the recent window, else its mean so far this billing
    /// period); null: no quota or no use.
    /// </summary>
    public DateTimeOffset? ExhaustionAt => Forecast.RunsOutAt;

    /// <summary>End (exclusive) of the mirror's current billing period: the latest reading's, else the one at the entry's build.</summary>
    public DateTimeOffset PeriodEnd => PeriodEndOf(Forecast);

    /// <summary>
    /// <see cref="PeriodEnd"/> for a forecast read once (the refresher may replace <see cref="Forecast"/> between two
    /// reads, so a caller showing several of its figures reads it once and asks this).
    /// </summary>
    public DateTimeOffset PeriodEndOf(QuotaForecast forecast) => forecast.At.Ticks > 0 ? forecast.PeriodEnd : BuiltPeriodEnd;

    /// <summary>End of the billing period holding the time the entry was built (before any reading of its usage).</summary>
    public DateTimeOffset BuiltPeriodEnd { get; init; }

    /// <summary>Whether the quota is forecast to run out inside the current billing period.</summary>
    public bool ExhaustionWarning => Forecast.Warning;

    /// <summary>Spare bandwidth, bytes/s: capacity (scaled by <see cref="Pace"/>) minus the reported rate.</summary>
    public double SpareBps { get; init; }

    /// <summary>Lottery weight among the near candidates: spare bandwidth scaled by ops' weight.</summary>
    public double LotteryWeight { get; init; }

    /// <summary>This redirector's own recent redirects to the mirror (shared by every snapshot that holds the mirror).</summary>
    public required AssignedLoad Assigned { get; init; }

    /// <summary>Spare bandwidth less this redirector's own redirects since the mirror's last report, bytes/s.</summary>
    public double SpareNowBps => SpareBps - Assigned.Bps;

    /// <summary><see cref="LotteryWeight"/> on <see cref="SpareNowBps"/>: what the lottery draws on right now.</summary>
    public double LotteryWeightNow => Math.Max(0, SpareNowBps) * Record.Weight / 100;

    /// <summary>Lower-case country code for <c>geo=</c> in Link headers.</summary>
    public string CountryLower { get; init; } = "";

    public required Counter Redirects { get; init; }

    public string BaseUrl(bool https) => https ? Record.HttpsUrl : Record.HttpUrl;
}
