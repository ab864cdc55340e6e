using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Downloads.Contracts.Hosting;

/// <summary>
/// What a per-client limit counts by (the mirror's connection limit, the origin's request limit): an IPv4 address whole (an IPv4-mapped IPv6 address as the IPv4
/// address it is), an IPv6 address by its /64 — one subscriber's usual allocation, so a client cannot dodge
/// the limit by taking a new address from its own prefix. Both fit one 128-bit value that never collides:
/// a /64 key has its low 64 bits zero, a mapped IPv4 key has <c>ffff</c> in them.
/// </summary>
public static class AddressKey
{
    private const ulong Low64 = ulong.MaxValue;

    /// <summary>The key of <paramref name="endpoint"/>, or false when it has no IP address (a Unix socket, a test transport).</summary>
    public static bool TryGet(EndPoint? endpoint, out UInt128 key)
    {
        key = default;
        return endpoint is IPEndPoint { Address: var address } && TryGet(address, out key);
    }

    /// <summary>The key of <paramref name="address"/>, or false when there is none.</summary>
    public static bool TryGet(IPAddress? address, out UInt128 key)
    {
        key = default;
        if (address is null)
            return false;
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // ::ffff:a.b.c.d, as a dual-stack socket would report the same client.
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            if (!address.TryWriteBytes(bytes[12..], out _))
                return false;
            key = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            return true;
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || !address.TryWriteBytes(bytes, out _))
            return false;
        key = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        if (!address.IsIPv4MappedToIPv6)
            key &= ~(UInt128)Low64;
        return true;
    }
}
