using System.Buffers.Binary;
using System.Numerics;

namespace Downloads.Redirector.Counting;

/// <summary>
/// An in-memory HyperLogLog bit-compatible with Redis's (P = 14, 16384 six-bit registers, MurmurHash64A
/// with Redis's seed), so a redirector can count distinct addresses while Redis is away and hand the
/// registers over with one <c>SET</c> + <c>PFMERGE</c> when it is back. Merging is a register-wise max:
/// sending the same registers twice changes nothing, and the result equals <c>PFADD</c> of the same
/// elements. 16 KiB whatever the number of addresses. <see cref="AddConcurrent"/> may run on many
/// threads at once (the request path): a register only ever grows, by compare-and-swap, so the result
/// is the same as adding the same elements one by one in any order.
/// </summary>
internal sealed class HyperLogLog
{
    private const int P = 14;
    private const int Registers = 1 << P;
    private const int Q = 64 - P;
    private const int Bits = 6;
    private const int HeaderSize = 16;

    /// <summary>Length of Redis's dense representation: header plus 16384 × 6 bits.</summary>
    public const int DenseSize = HeaderSize + (Registers * Bits + 7) / 8;

    private readonly byte[] _registers = new byte[Registers];

    private volatile bool _isEmpty = true;

    /// <summary>Whether nothing was added.</summary>
    public bool IsEmpty => _isEmpty;

    /// <summary>Adds an element (its bytes, as PFADD would receive them). One thread at a time.</summary>
    public void Add(ReadOnlySpan<byte> element)
    {
        var (index, count) = Register(element);
        if (count > _registers[index])
            _registers[index] = count;
        _isEmpty = false;
    }

    /// <summary>
    /// Adds an element from any thread, lock-free and allocation-free: the register is raised with a
    /// compare-and-swap loop, so concurrent adds never lower one another.
    /// </summary>
    public void AddConcurrent(ReadOnlySpan<byte> element)
    {
        var (index, count) = Register(element);
        ref var register = ref _registers[index];
        var current = Volatile.Read(ref register);
        while (count > current)
        {
            var seen = Interlocked.CompareExchange(ref register, count, current);
            if (seen == current)
                break;
            current = seen;
        }
        if (_isEmpty)
            _isEmpty = false;
    }

    /// <summary>Adds an address as its usual text form in UTF-8 — the bytes <c>PFADD</c> of the address would hash — from any thread.</summary>
    public void AddConcurrent(System.Net.IPAddress address)
    {
        Span<byte> utf8 = stackalloc byte[64];
        if (address.TryFormat(utf8, out var length))
            AddConcurrent(utf8[..length]);
    }

    /// <summary>Empties the registers (one thread, none adding).</summary>
    public void Clear()
    {
        Array.Clear(_registers);
        _isEmpty = true;
    }

    private static (int Index, byte Count) Register(ReadOnlySpan<byte> element)
    {
        var hash = MurmurHash64A(element, 0xadc83b19);
        var index = (int)(hash & (Registers - 1));
        hash >>= P;
        hash |= 1UL << Q;
        return (index, (byte)(BitOperations.TrailingZeroCount(hash) + 1));
    }

    /// <summary>Register-wise max with <paramref name="other"/>.</summary>
    public void Merge(HyperLogLog other)
    {
        for (var i = 0; i < Registers; i++)
        {
            var theirs = Volatile.Read(ref other._registers[i]);
            if (theirs > _registers[i])
                _registers[i] = theirs;
        }
        _isEmpty &= other.IsEmpty;
    }

    /// <summary>
    /// Redis's dense encoding: <c>HYLL</c>, encoding 0, three unused bytes, an 8-byte cardinality cache
    /// marked invalid, then the registers packed 6 bits each, least significant bits first.
    /// </summary>
    public byte[] ToRedisDense()
    {
        var bytes = new byte[DenseSize];
        "HYLL"u8.CopyTo(bytes);
        bytes[15] = 0x80; // cached cardinality invalid: PFCOUNT recomputes it
        var registers = bytes.AsSpan(HeaderSize);
        for (var i = 0; i < Registers; i++)
        {
            int value = _registers[i];
            var bit = i * Bits;
            var b = bit / 8;
            var shift = bit & 7;
            registers[b] |= (byte)(value << shift);
            if (shift > 2)
                registers[b + 1] |= (byte)(value >> (8 - shift));
        }
        return bytes;
    }

    /// <summary>Estimate of the number of distinct elements (standard HLL with the small-range correction), for local display only.</summary>
    public double Estimate()
    {
        double sum = 0;
        var zeros = 0;
        for (var i = 0; i < Registers; i++)
        {
            sum += Math.ScaleB(1, -_registers[i]);
            if (_registers[i] == 0)
                zeros++;
        }
        const double alpha = 0.7213 / (1 + 1.079 / Registers);
        var raw = alpha * Registers * (double)Registers / sum;
        return raw <= 2.5 * Registers && zeros > 0 ? Registers * Math.Log((double)Registers / zeros) : raw;
    }

    /// <summary>MurmurHash64A exactly as Redis's hyperloglog.c computes it (little-endian reads).</summary>
    internal static ulong MurmurHash64A(ReadOnlySpan<byte> key, uint seed)
    {
        const ulong m = 0xc6a4a7935bd1e995;
        const int r = 47;
        var h = seed ^ ((ulong)key.Length * m);
        var blocks = key.Length / 8;
        for (var i = 0; i < blocks; i++)
        {
            var k = BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(i * 8, 8));
            k *= m;
            k ^= k >> r;
            k *= m;
            h ^= k;
            h *= m;
        }
        var tail = key[(blocks * 8)..];
        if (tail.Length > 0)
        {
            for (var i = tail.Length - 1; i >= 0; i--)
                h ^= (ulong)tail[i] << (8 * i);
            h *= m;
        }
        h ^= h >> r;
        h *= m;
        h ^= h >> r;
        return h;
    }
}
