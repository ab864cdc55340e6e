using Downloads.Contracts.Hosting;
using System.Collections.Concurrent;

namespace Downloads.Mirror.Limits;

/// <summary>
/// Open connections per client address (<see cref="AddressKey"/>), kept as connections open and close. An
/// address's entry goes when its last connection closes, so the table holds only addresses with open
/// connections: it is bounded by the open connections themselves. Touched once per connection, not per request.
/// </summary>
internal sealed class AddressConnections
{
    private readonly ConcurrentDictionary<UInt128, int> _open = new();

    /// <summary>Addresses with open connections now.</summary>
    public int Addresses => _open.Count;

    /// <summary>Counts a new connection from <paramref name="key"/>; returns how many are open from it, this one included.</summary>
    public int Opened(UInt128 key) => _open.AddOrUpdate(key, 1, static (_, n) => n + 1);

    /// <summary>Counts a closed connection from <paramref name="key"/>.</summary>
    public void Closed(UInt128 key)
    {
        if (_open.AddOrUpdate(key, 0, static (_, n) => n - 1) <= 0)
        {
            // Removed only if still 0: a connection opened meanwhile has made it 1 and keeps the entry.
            _open.TryRemove(new KeyValuePair<UInt128, int>(key, 0));
        }
    }

    /// <summary>Open connections from <paramref name="key"/> now.</summary>
    public int OpenFrom(UInt128 key) => _open.TryGetValue(key, out var n) ? n : 0;
}
