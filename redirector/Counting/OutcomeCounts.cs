namespace Downloads.Redirector.Counting;

/// <summary>
/// One counter per <see cref="Outcome"/> for one file or country, bumped with <see cref="Interlocked"/> on the
/// request path and drained by the flusher. One small array, so a file or country costs one object however
/// many outcomes it sees.
/// </summary>
internal sealed class OutcomeCounts
{
    private readonly long[] _counts = new long[Outcomes.Count];

    public void Increment(Outcome outcome) => Interlocked.Increment(ref _counts[(int)outcome]);

    /// <summary>Takes the count of <paramref name="outcome"/> accumulated since the last drain.</summary>
    public long Drain(Outcome outcome) => Interlocked.Exchange(ref _counts[(int)outcome], 0);

    public long Peek(Outcome outcome) => Volatile.Read(ref _counts[(int)outcome]);
}
