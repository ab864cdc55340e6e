namespace Downloads.Redirector.Counting;

/// <summary>
/// Counts of one UTC day drained from <see cref="CounterRegistry"/> and not yet in Redis: redirects per
/// mirror, per file, per country, and the distinct addresses as a <see cref="HyperLogLog"/>. Its size is
/// bounded by the number of distinct mirrors, files and countries, not by the traffic or the outage.
/// </summary>
internal sealed class DayBatch(DateTimeOffset day)
{
    /// <summary>Midnight UTC of the day counted.</summary>
    public DateTimeOffset Day { get; } = day;

    /// <summary>Set when the batch is sealed for sending; the same id is used for every retry.</summary>
    public string Id { get; set; } = "";

    /// <summary>Set once the master has applied the batch while no replica has confirmed it yet (it is re-sent until one does).</summary>
    public bool AwaitingReplica { get; set; }

    public Dictionary<string, long> Mirrors { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> Files { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> Countries { get; } = new(StringComparer.Ordinal);

    public HyperLogLog Addresses { get; } = new();

    public bool IsEmpty => Mirrors.Count == 0 && Files.Count == 0 && Countries.Count == 0 && Addresses.IsEmpty;

    /// <summary>Redirects in the batch (the sum over mirrors).</summary>
    public long Redirects
    {
        get
        {
            long sum = 0;
            foreach (var v in Mirrors.Values)
                sum += v;
            return sum;
        }
    }

    public static void Add(Dictionary<string, long> into, string key, long delta)
    {
        into.TryGetValue(key, out var current);
        into[key] = current + delta;
    }
}
