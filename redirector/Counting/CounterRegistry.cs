using System.Collections.Concurrent;
using System.Net;

namespace Downloads.Redirector.Counting;

/// <summary>
/// In-memory counts of every answered request by <see cref="Outcome"/>: per file (outcomes that name one),
/// per country, and the distinct client addresses of each outcome; plus GET redirects per mirror. Counter
/// objects outlive snapshots (one per id), so the request path bumps a counter it already holds; the
/// flusher drains them into per-day batches it keeps until Redis has them, so counting goes on while
/// Redis is away.
/// </summary>
internal sealed class CounterRegistry
{
    private readonly ConcurrentDictionary<string, Counter> _mirrors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OutcomeCounts> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OutcomeCounts> _countries = new(StringComparer.Ordinal);
    private readonly HyperLogLog[] _addresses = new HyperLogLog[Outcomes.Count];
    private readonly HyperLogLog[] _retired = new HyperLogLog[Outcomes.Count];

    public CounterRegistry()
    {
        for (var i = 0; i < Outcomes.Count; i++)
        {
            _addresses[i] = new HyperLogLog();
            _retired[i] = new HyperLogLog();
        }
    }

    /// <summary>Redirects to the origin or a fallback, counted under this mirror id.</summary>
    public const string FallbackId = "origin";

    /// <summary>Country key of a client the geo databases do not know.</summary>
    public const string UnknownCountry = "--";

    /// <summary>GET redirects to mirror <paramref name="id"/> (what loads it; HEADs and Metalinks are not counted here).</summary>
    public Counter Mirror(string id) => _mirrors.GetOrAdd(id, static _ => new Counter());

    public OutcomeCounts File(string path) => _files.GetOrAdd(path, static _ => new OutcomeCounts());

    /// <summary>Counts of the clients of country <paramref name="code"/> (empty: unknown).</summary>
    public OutcomeCounts Country(string code)
    {
        if (code.Length == 0)
            code = UnknownCountry;
        return _countries.TryGetValue(code, out var c) ? c : _countries.GetOrAdd(code, static _ => new OutcomeCounts());
    }

    /// <summary>
    /// Records a client address for the unique-address count of <paramref name="outcome"/> straight into a
    /// HyperLogLog (its text form hashed as Redis's PFADD would): lock-free, allocation-free, 16 KB an outcome
    /// whatever the traffic, and nothing left for the flusher to hash — before, a flush turned up to 500,000
    /// buffered addresses into a set and strings every 5 s, a CPU and garbage burst that showed in the redirect p99.
    /// </summary>
    public void SeeAddress(Outcome outcome, IPAddress address) => Volatile.Read(ref _addresses[(int)outcome]).AddConcurrent(address);

    public IEnumerable<KeyValuePair<string, Counter>> Mirrors => _mirrors;

    public IEnumerable<KeyValuePair<string, OutcomeCounts>> Files => _files;

    public IEnumerable<KeyValuePair<string, OutcomeCounts>> Countries => _countries;

    /// <summary>Whether an address was seen for <paramref name="outcome"/> since the last drain (the flusher skips empty sketches).</summary>
    public bool HasAddresses(Outcome outcome) => !Volatile.Read(ref _addresses[(int)outcome]).IsEmpty;

    /// <summary>
    /// Folds the addresses of <paramref name="outcome"/> seen since the last call into <paramref name="target"/>
    /// (one caller at a time: the flusher). Two sketches take turns: the one drained now rests a whole flush
    /// interval before it is cleared and swapped in again, so an add that read it just before the swap has long
    /// landed by then — in the sketch, if not in this flush (that one address may go uncounted).
    /// </summary>
    public void DrainAddressesInto(Outcome outcome, HyperLogLog target)
    {
        var i = (int)outcome;
        var fresh = _retired[i];
        fresh.Clear();
        var drained = Interlocked.Exchange(ref _addresses[i], fresh);
        target.Merge(drained);
        _retired[i] = drained;
    }
}
