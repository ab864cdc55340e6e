using System.Collections.Concurrent;

namespace Downloads.Contracts.Identity;

/// <summary>
/// Nonces of verified signatures, each remembered until its signature would be too old anyway, so a captured
/// request cannot be replayed. Bounded: when <see cref="Capacity"/> nonces are live, new ones are refused
/// (the request is then treated as unsigned, which costs a mirror its reserved capacity, never a file).
/// </summary>
public sealed class NonceCache(int capacity = 200_000)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private long _nextSweepTicks;

    /// <summary>Most nonces remembered at once.</summary>
    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    /// <summary>Nonces remembered now.</summary>
    public int Count => _seen.Count;

    /// <summary>True if <paramref name="nonce"/> was not seen before (and is now remembered until <paramref name="until"/>).</summary>
    public bool TryUse(string nonce, DateTimeOffset until, DateTimeOffset now)
    {
        Sweep(now);
        if (_seen.Count >= Capacity)
        {
            Sweep(now, force: true);
            if (_seen.Count >= Capacity)
                return false;
        }
        return _seen.TryAdd(nonce, until);
    }

    // At most once a second (or when full): drop the nonces whose signatures have aged out.
    private void Sweep(DateTimeOffset now, bool force = false)
    {
        var next = Interlocked.Read(ref _nextSweepTicks);
        if (!force && now.UtcTicks < next)
            return;
        if (Interlocked.CompareExchange(ref _nextSweepTicks, now.UtcTicks + TimeSpan.TicksPerSecond, next) != next)
            return;
        foreach (var (nonce, until) in _seen)
        {
            if (until <= now)
                _seen.TryRemove(nonce, out _);
        }
    }
}
