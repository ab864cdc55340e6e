namespace Downloads.Redirector.Counting;

/// <summary>
/// Counts of one UTC day drained from <see cref="CounterRegistry"/> and not yet in Redis: requests per
/// <see cref="Outcome"/> (in all, per file, per country, distinct addresses as a <see cref="HyperLogLog"/>),
/// GET redirects per mirror, and the downloads (<see cref="Outcomes.IsDownload"/>) per file and per country.
/// Its size is bounded by the number of distinct mirrors, files, countries and outcomes, not by the traffic
/// or the outage.
/// </summary>
internal sealed class DayBatch(DateTimeOffset day)
{
    private readonly Dictionary<string, long>?[] _files = new Dictionary<string, long>?[Outcomes.Count];
    private readonly Dictionary<string, long>?[] _countries = new Dictionary<string, long>?[Outcomes.Count];
    private readonly HyperLogLog?[] _addresses = new HyperLogLog?[Outcomes.Count];

    /// <summary>Midnight UTC of the day counted.</summary>
    public DateTimeOffset Day { get; } = day;

    /// <summary>Set when the batch is sealed for sending; the same id is used for every retry.</summary>
    public string Id { get; set; } = "";

    /// <summary>Set once the master has applied the batch while no replica has confirmed it yet (it is re-sent until one does).</summary>
    public bool AwaitingReplica { get; set; }

    /// <summary>GET redirects per mirror id (<see cref="CounterRegistry.FallbackId"/> for the origin and fallbacks).</summary>
    public Dictionary<string, long> Mirrors { get; } = new(StringComparer.Ordinal);

    /// <summary>Downloads per file path.</summary>
    public Dictionary<string, long> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Downloads per country code.</summary>
    public Dictionary<string, long> Countries { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests per outcome.</summary>
    public long[] Totals { get; } = new long[Outcomes.Count];

    public bool IsEmpty
    {
        get
        {
            foreach (var total in Totals)
            {
                if (total != 0)
                    return false;
            }
            foreach (var a in _addresses)
            {
                if (a is { IsEmpty: false })
                    return false;
            }
            return Mirrors.Count == 0;
        }
    }

    /// <summary>GET redirects in the batch (the sum over mirrors).</summary>
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

    /// <summary>Requests of every outcome in the batch.</summary>
    public long Requests
    {
        get
        {
            long sum = 0;
            foreach (var v in Totals)
                sum += v;
            return sum;
        }
    }

    /// <summary>Counts per file of <paramref name="outcome"/>, null when none.</summary>
    public Dictionary<string, long>? FilesOf(Outcome outcome) => _files[(int)outcome];

    /// <summary>Counts per country of <paramref name="outcome"/>, null when none.</summary>
    public Dictionary<string, long>? CountriesOf(Outcome outcome) => _countries[(int)outcome];

    /// <summary>Distinct addresses of <paramref name="outcome"/>, null when none.</summary>
    public HyperLogLog? AddressesOf(Outcome outcome) => _addresses[(int)outcome];

    public void AddFile(Outcome outcome, string path, long delta)
    {
        Add(_files[(int)outcome] ??= new(StringComparer.Ordinal), path, delta);
        if (Outcomes.IsDownload(outcome))
            Add(Files, path, delta);
    }

    /// <summary>Every counted request has a country (<see cref="CounterRegistry.UnknownCountry"/> at worst), so this also sums the totals.</summary>
    public void AddCountry(Outcome outcome, string code, long delta)
    {
        Add(_countries[(int)outcome] ??= new(StringComparer.Ordinal), code, delta);
        Totals[(int)outcome] += delta;
        if (Outcomes.IsDownload(outcome))
            Add(Countries, code, delta);
    }

    /// <summary>The sketch of <paramref name="outcome"/>'s addresses, created on first use.</summary>
    public HyperLogLog Addresses(Outcome outcome) => _addresses[(int)outcome] ??= new HyperLogLog();

    public static void Add(Dictionary<string, long> into, string key, long delta)
    {
        into.TryGetValue(key, out var current);
        into[key] = current + delta;
    }
}
