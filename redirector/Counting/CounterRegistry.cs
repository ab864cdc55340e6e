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
    private readonly int _maxAddresses;
    private AddressBatch _addresses;

    public CounterRegistry(int maxAddresses)
    {
        _maxAddresses = maxAddresses;
        _addresses = new AddressBatch(maxAddresses);
    }

    /// <summary>Redirects to the origin or a fallback, counted under this mirror id.</summary>
    public const string FallbackId = "origin";

    /// <summary>Requests answered (all modes).</summary>
    public Counter Requests { get; } = new();

    /// <summary>Addresses not kept for the unique count because the buffer was full.</summary>
    public Counter DroppedAddresses { get; } = new();

    public Counter Mirror(string id) => _mirrors.GetOrAdd(id, static _ => new Counter());

    public Counter File(string path) => _files.GetOrAdd(path, static _ => new Counter());

    public Counter Country(string code) => _countries.TryGetValue(code, out var c) ? c : _countries.GetOrAdd(code, static _ => new Counter());

    /// <summary>
    /// Records a client address for the unique-address count: a slot claimed with one interlocked
    /// increment, no lock; duplicates are left for the HyperLogLog to absorb. A full buffer drops (and
    /// counts) the address until the next flush.
    /// </summary>
    public void SeeAddress(IPAddress address)
    {
        var batch = Volatile.Read(ref _addresses);
        var slot = Interlocked.Increment(ref batch.Next) - 1;
        if (slot < batch.Items.Length)
            batch.Items[slot] = address;
        else
            DroppedAddresses.Increment();
    }

    public IEnumerable<KeyValuePair<string, Counter>> Mirrors => _mirrors;

    public IEnumerable<KeyValuePair<string, Counter>> Files => _files;

    public IEnumerable<KeyValuePair<string, Counter>> Countries => _countries;

    /// <summary>Takes the distinct addresses seen since the last call.</summary>
    public HashSet<IPAddress> DrainAddresses()
    {
        var batch = Interlocked.Exchange(ref _addresses, new AddressBatch(_maxAddresses));
        var count = Math.Min(Volatile.Read(ref batch.Next), batch.Items.Length);
        var distinct = new HashSet<IPAddress>(count);
        for (var i = 0; i < count; i++)
        {
            // A writer that claimed a slot just before the swap may not have stored yet: that one address is lost.
            if (Volatile.Read(ref batch.Items[i]) is { } address)
                distinct.Add(address);
        }
        return distinct;
    }

    private sealed class AddressBatch(int capacity)
    {
        public readonly IPAddress?[] Items = new IPAddress?[capacity];
        public int Next;
    }

    /// <summary>Puts back addresses a failed flush could not write.</summary>
    public void Restore(IEnumerable<IPAddress> addresses)
    {
        foreach (var a in addresses)
            SeeAddress(a);
    }
}
