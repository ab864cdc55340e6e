namespace Downloads.Redirector.Geo;

/// <summary>
/// Remembers lookups by the database network they fell in, so that every later address of that network
/// is answered without walking the tree or decoding, and without allocating.
/// </summary>
/// <remarks>
/// Two-way set-associative and lock-free: a slot holds an immutable entry (network, mask, value) replaced
/// with a single reference write, so readers never see a torn entry and never wait; racing writers can
/// only lose an entry, which costs a later miss. The set is chosen by the client's /24 (IPv4) or /48
/// (IPv6), finer than most database networks, so one entry serves its whole block. An entry answers only
/// addresses inside its own network, whatever set it sits in, so a collision costs a miss, never a wrong
/// answer. Two ways per set keep blocks that hash alike from evicting each other on every request.
/// Networks smaller than the block (e.g. a /29) share the block's set: still correct, at worst slower.
/// "Not in the database" is cached the same way, with the empty network the tree reports.
/// </remarks>
internal sealed class NetworkCache<TValue>
{
    private readonly Entry?[] _slots;
    private readonly int _shift;

    public NetworkCache(int slots)
    {
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, slots));
        _slots = new Entry?[size];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size / 2);
    }

    public bool TryGet(in ClientKey key, out TValue value)
    {
        var set = SetOf(key);
        var entry = Volatile.Read(ref _slots[set]);
        if (entry is null || (key.Bits & entry.Mask) != entry.Network)
        {
            entry = Volatile.Read(ref _slots[set + 1]);
            if (entry is null || (key.Bits & entry.Mask) != entry.Network)
            {
                value = default!;
                return false;
            }
        }

        value = entry.Value;
        return true;
    }

    /// <summary>Caches <paramref name="value"/> for the network of <paramref name="keyPrefix"/> bits around <paramref name="key"/>.</summary>
    public void Add(in ClientKey key, int keyPrefix, TValue value)
    {
        // A zero-length network would claim every address; the tree root is always a node, so it is never real.
        if (keyPrefix is <= 0 or > 128)
        {
            return;
        }

        var mask = UInt128.MaxValue << (128 - keyPrefix);
        var entry = new Entry(key.Bits & mask, mask, value);

        // The newest entry takes the first way and the one it displaces moves to the second.
        var set = SetOf(key);
        var first = Volatile.Read(ref _slots[set]);
        if (first is not null)
        {
            Volatile.Write(ref _slots[set + 1], first);
        }

        Volatile.Write(ref _slots[set], entry);
    }

    /// <summary>Index of the first of the two slots of the set for the client's /24 or /48 block.</summary>
    private int SetOf(in ClientKey key)
    {
        var block = key.IsIPv4 ? key.Bits >> 8 : key.Bits >> 80;
        var h = (ulong)block ^ (ulong)(block >> 64);
        return (int)((h * 0x9E3779B97F4A7C15UL) >> _shift) * 2;
    }

    private sealed class Entry(UInt128 network, UInt128 mask, TValue value)
    {
        public UInt128 Network { get; } = network;

        public UInt128 Mask { get; } = mask;

        public TValue Value { get; } = value;
    }
}
