namespace Downloads.Redirector.Counting;

/// <summary>A counter bumped with <see cref="Interlocked"/> on the request path and drained by the flusher.</summary>
internal sealed class Counter
{
    private long _value;

    public void Increment() => Interlocked.Increment(ref _value);

    public void Add(long delta) => Interlocked.Add(ref _value, delta);

    /// <summary>Takes the count accumulated since the last drain.</summary>
    public long Drain() => Interlocked.Exchange(ref _value, 0);

    public long Peek() => Volatile.Read(ref _value);
}
