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
    private AddressBatch _addresses;
    private AddressBatch _spare;

    public CounterRegistry(int maxAddresses)
    {
        _addresses = new AddressBatch(maxAddresses);
        _spare = new AddressBatch(maxAddresses);
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
        if (slot < batch.Capacity)
            batch.Store(slot, address);
        else
            DroppedAddresses.Increment();
    }

    public IEnumerable<KeyValuePair<string, Counter>> Mirrors => _mirrors;

    public IEnumerable<KeyValuePair<string, Counter>> Files => _files;

    public IEnumerable<KeyValuePair<string, Counter>> Countries => _countries;

    /// <summary>
    /// Takes the distinct addresses seen since the last call (one caller at a time: the flusher). Two
    /// buffers take turns: the one drained now rests a whole flush interval before it is cleared and
    /// swapped in again, so a writer that claimed a slot just before a swap has long stored by then.
    /// </summary>
    public HashSet<IPAddress> DrainAddresses()
    {
        var fresh = _spare;
        fresh.Reset();
        var batch = Interlocked.Exchange(ref _addresses, fresh);
        var count = Math.Min(Volatile.Read(ref batch.Next), batch.Capacity);
        var distinct = new HashSet<IPAddress>(count);
        for (var i = 0; i < count; i++)
        {
            // A writer that claimed a slot just before the swap may not have stored yet: that one address is lost.
            if (batch.Load(i) is { } address)
                distinct.Add(address);
        }
        _spare = batch;
        return distinct;
    }

    /// <summary>
    /// Slots for up to <see cref="Capacity"/> addresses in pages allocated as they fill and kept for the
    /// next rounds, so memory follows the traffic (none when idle) instead of a 4 MB array per flush on
    /// the large object heap; a page is allocated once, not per request. Pages a quiet round did not reach
    /// are let go, so a burst does not pin its peak for good.
    /// </summary>
    internal sealed class AddressBatch(int capacity)
    {
        /// <summary>Addresses per page: 32 KB of references, below the large object heap threshold.</summary>
        internal const int PageSize = 4096;

        private readonly IPAddress?[]?[] _pages = new IPAddress?[]?[(capacity + PageSize - 1) / PageSize];
        public int Next;

        public int Capacity { get; } = capacity;

        /// <summary>Pages currently allocated.</summary>
        public int Pages
        {
            get
            {
                var n = 0;
                foreach (var page in _pages)
                    n += page is null ? 0 : 1;
                return n;
            }
        }

        public void Store(int slot, IPAddress address)
        {
            var page = Volatile.Read(ref _pages[slot / PageSize])
                ?? Interlocked.CompareExchange(ref _pages[slot / PageSize], new IPAddress?[PageSize], null)
                ?? _pages[slot / PageSize]!;
            Volatile.Write(ref page[slot % PageSize], address);
        }

        public IPAddress? Load(int slot) =>
            Volatile.Read(ref _pages[slot / PageSize]) is { } page ? Volatile.Read(ref page[slot % PageSize]) : null;

        /// <summary>Empties the batch for another round: clears the slots the last round used, drops pages it did not reach.</summary>
        public void Reset()
        {
            var used = Math.Min(Volatile.Read(ref Next), Capacity);
            var pagesUsed = (used + PageSize - 1) / PageSize;
            for (var p = 0; p < _pages.Length; p++)
            {
                if (p >= pagesUsed)
                    _pages[p] = null;
                else if (_pages[p] is { } page)
                    Array.Clear(page);
            }
            Volatile.Write(ref Next, 0);
        }
    }

    /// <summary>Puts back addresses a failed flush could not write.</summary>
    public void Restore(IEnumerable<IPAddress> addresses)
    {
        foreach (var a in addresses)
            SeeAddress(a);
    }
}
