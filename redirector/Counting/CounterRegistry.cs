using System.Collections.Concurrent;
using System.Net;

namespace Downloads.Redirector.Counting;

/// <summary>
/// In-memory counts of redirects per mirror, per file and per country, and the distinct client
/// addresses seen since the last flush. Counter objects outlive snapshots (one per id), so the request
/// path bumps a counter it already holds; the flusher drains them in batches and puts back what it
/// could not write, so counting goes on while Redis is away.
/// </summary>
internal sealed class CounterRegistry
{
    private readonly ConcurrentDictionary<string, Counter> _mirrors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _countries = new(StringComparer.Ordinal);
    private ConcurrentDictionary<IPAddress, byte> _addresses = new();
    private readonly int _maxAddresses;

    public CounterRegistry(int maxAddresses) => _maxAddresses = maxAddresses;

    /// <summary>Redirects to the origin or a fallback, counted under this mirror id.</summary>
    public const string FallbackId = "origin";

    /// <summary>Requests answered (all modes).</summary>
    public Counter Requests { get; } = new();

    /// <summary>Addresses not kept for the unique count because the buffer was full.</summary>
    public Counter DroppedAddresses { get; } = new();

    public Counter Mirror(string id) => _mirrors.GetOrAdd(id, static _ => new Counter());

    public Counter File(string path) => _files.GetOrAdd(path, static _ => new Counter());

    public Counter Country(string code) => _countries.TryGetValue(code, out var c) ? c : _countries.GetOrAdd(code, static _ => new Counter());

    public void SeeAddress(IPAddress address)
    {
        var set = _addresses;
        if (set.Count >= _maxAddresses)
        {
            DroppedAddresses.Increment();
            return;
        }
        set.TryAdd(address, 0);
    }

    public IEnumerable<KeyValuePair<string, Counter>> Mirrors => _mirrors;

    public IEnumerable<KeyValuePair<string, Counter>> Files => _files;

    public IEnumerable<KeyValuePair<string, Counter>> Countries => _countries;

    /// <summary>Takes the addresses seen since the last call.</summary>
    public ICollection<IPAddress> DrainAddresses() => Interlocked.Exchange(ref _addresses, new ConcurrentDictionary<IPAddress, byte>()).Keys;

    /// <summary>Puts back addresses a failed flush could not write.</summary>
    public void Restore(IEnumerable<IPAddress> addresses)
    {
        foreach (var a in addresses)
            SeeAddress(a);
    }
}
