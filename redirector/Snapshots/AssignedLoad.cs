namespace Downloads.Redirector.Snapshots;

/// <summary>
/// This redirector's own redirects to one mirror that the mirror's reports do not show yet, as an
/// estimated rate in bytes/s. Mirrors report every second or so and the table is read every
/// <see cref="RedirectorOptions.MirrorRefreshSeconds"/>, so the spare bandwidth a redirect is drawn on can
/// be 1–3 s old; without this every redirect in that window lands on the same "roomy" mirror.
/// <para>
/// Model: a redirect for a file of <c>S</c> bytes adds <c>min(S / AssumedMinTransferSeconds,
/// AssumedClientMbps × 125,000)</c> bytes/s (a client downloads at most that fast, and a small file is
/// spread over at least that long). Redirects go into the bucket of the current table round
/// (<see cref="Add"/>: one <see cref="Interlocked"/> add, no lock, no allocation). At each round the
/// refresher calls <see cref="Roll"/>: when the mirror has reported since the last round, the report
/// includes the transfers started before the previous round, so only the bucket of the round just
/// closed is kept (the report may or may not include those: counting them errs toward spilling);
/// otherwise the closed bucket joins the settled sum. Without any report for
/// <see cref="RedirectorOptions.OwnRedirectsMaxAgeSeconds"/> the estimate is dropped, so a mirror whose
/// reports stall is not kept "full" forever. One object per mirror id, carried from snapshot to snapshot.
/// </para>
/// </summary>
internal sealed class AssignedLoad
{
    private long _current;
    private long _settled;
    private DateTimeOffset _lastReport;

    public AssignedLoad(DateTimeOffset now) => _lastReport = now;

    /// <summary>Estimated bytes/s sent to the mirror by this redirector and not yet in its report.</summary>
    public long Bps => Volatile.Read(ref _settled) + Volatile.Read(ref _current);

    /// <summary>Accounts one redirect (request path: lock-free, allocation-free).</summary>
    public void Add(long bps) => Interlocked.Add(ref _current, bps);

    /// <summary>
    /// Closes the current round (refresher only, one thread). <paramref name="reported"/>: the mirror's
    /// state changed since the last round, i.e. a new report arrived.
    /// </summary>
    public void Roll(bool reported, DateTimeOffset now, TimeSpan maxAge)
    {
        var closed = Volatile.Read(ref _current);
        if (reported)
        {
            _lastReport = now;
            Volatile.Write(ref _settled, closed);
        }
        else if (now - _lastReport > maxAge)
        {
            _lastReport = now;
            Volatile.Write(ref _settled, 0);
        }
        else
        {
            Volatile.Write(ref _settled, _settled + closed);
        }
        // Subtracted after the settled sum took it over: a concurrent reader may count it twice for an
        // instant, never zero times; adds racing with this stay in the current bucket.
        Interlocked.Add(ref _current, -closed);
    }
}
