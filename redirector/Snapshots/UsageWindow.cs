using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// One mirror's usage counter (this billing period's bytes) at a few recent points, so its quota forecast follows its
/// current rate, not the period's mean: a mirror idle for weeks that turns ten times busier on launch day is flagged
/// within the window, and one whose surge is over is no longer. The refresher reads the counter every round anyway; a
/// reading is kept at most every <c>window / Points</c>, so the ring covers about the window with
/// <see cref="Points"/> entries and no extra Redis key. The rate runs from the oldest kept point to the latest reading;
/// until that spans a sixth of the window (after start, or when a new period begins) the forecast uses the period's
/// mean. One object per mirror id, carried from snapshot to snapshot (like <see cref="AssignedLoad"/>); written by the
/// refresher only, its <see cref="Forecast"/> read by any thread. Times are those of the readings (the redirector's
/// <see cref="TimeProvider"/>), so a Redis outage, which leaves the reading old, adds no point.
/// </summary>
internal sealed class UsageWindow
{
    /// <summary>Readings kept over the window.</summary>
    public const int Points = 12;

    private readonly (DateTimeOffset Time, long Bytes)[] _ring = new (DateTimeOffset, long)[Points + 1];
    private int _first;
    private int _count;
    private DateTimeOffset _periodStart;
    private DateTimeOffset _lastRead = DateTimeOffset.MinValue;
    private long _lastBytes = -1;
    private QuotaBudget _budget;
    private QuotaForecast _forecast = QuotaForecast.None;

    /// <summary>The forecast from the latest reading.</summary>
    public QuotaForecast Forecast => Volatile.Read(ref _forecast);

    /// <summary>
    /// Takes a reading of the usage counter made at <paramref name="readAt"/> and updates <see cref="Forecast"/>
    /// (refresher only, one thread). A reading no later than the previous one changes nothing.
    /// </summary>
    public void Add(DateTimeOffset readAt, long usedBytes, QuotaBudget budget, TimeSpan window)
    {
        if (readAt <= _lastRead || readAt == DateTimeOffset.MinValue)
            return;
        var period = budget.PeriodAt(readAt);
        if (period.Start != _periodStart || usedBytes < _lastBytes)
        {
            // A new period's counter (or a counter reset by hand): the old points measure something else.
            _count = 0;
            _periodStart = period.Start;
        }
        // A new quota, burst, ceiling or billing day moves the forecast as much as new bytes do.
        var changed = usedBytes != _lastBytes || _count == 0 || budget != _budget;
        _budget = budget;
        _lastRead = readAt;
        _lastBytes = usedBytes;
        var step = window / Points;
        if (_count == 0 || readAt - At(_count - 1).Time >= step)
        {
            if (_count == _ring.Length)
                Drop();
            _ring[(_first + _count) % _ring.Length] = (readAt, usedBytes);
            _count++;
            changed = true;
        }
        while (_count > 1 && readAt - At(0).Time > window)
        {
            Drop();
            changed = true;
        }
        if (!changed)
            return; // Nothing moved since the last forecast but the clock; the next kept point refreshes it.
        var (oldTime, oldBytes) = At(0);
        var span = readAt - oldTime;
        double? recent = span >= window / 6 ? (usedBytes - oldBytes) / span.TotalSeconds : null;
        var mean = budget.MeanRate(usedBytes, readAt);
        Volatile.Write(ref _forecast, new QuotaForecast
        {
            At = readAt,
            RunsOutAt = budget.ExhaustionAt(usedBytes, readAt, recent ?? mean),
            PeriodEnd = period.End,
            RecentBps = recent,
            RecentSpan = recent is null ? TimeSpan.Zero : span,
            MeanBps = mean,
        });
    }

    private (DateTimeOffset Time, long Bytes) At(int i) => _ring[(_first + i) % _ring.Length];

    private void Drop()
    {
        _first = (_first + 1) % _ring.Length;
        _count--;
    }
}
