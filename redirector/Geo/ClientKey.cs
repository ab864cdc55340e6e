using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Downloads.Redirector.Geo;

/// <summary>
/// A client address as 128 bits, without allocating. IPv4 and IPv4-mapped IPv6 (Kestrel's dual-stack
/// sockets give <c>::ffff:81.2.69.142</c>) become the same key in the <c>::ffff:0:0/96</c> space.
/// </summary>
internal readonly struct ClientKey
{
    private static readonly UInt128 MappedPrefix = (UInt128)0xFFFF << 32;

    private ClientKey(UInt128 bits, bool isIPv4)
    {
        Bits = bits;
        IsIPv4 = isIPv4;
    }

    public UInt128 Bits { get; }

    public bool IsIPv4 { get; }

    public static bool TryCreate(IPAddress address, out ClientKey key)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork && address.TryWriteBytes(bytes, out _))
        {
            key = new ClientKey(MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(bytes), isIPv4: true);
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.TryWriteBytes(bytes, out _))
        {
            var bits = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            key = new ClientKey(bits, isIPv4: bits >> 32 == 0xFFFF);
            return true;
        }

        key = default;
        return false;
    }

    /// <summary>The IPv4 address as a 32-bit number (only when <see cref="IsIPv4"/>).</summary>
    public uint IPv4 => (uint)Bits;

    /// <summary>Loopback, private, link-local, shared and unspecified space: no database knows where it is.</summary>
    public bool IsLocal
    {
        get
        {
            if (IsIPv4)
            {
                var a = IPv4;
                var first = a >> 24;
                return first is 0 or 10 or 127
                    || (a & 0xFFF00000) == 0xAC100000   // 172.16.0.0/12
                    || (a & 0xFFFF0000) == 0xC0A80000   // 192.168.0.0/16
                    || (a & 0xFFFF0000) == 0xA9FE0000   // 169.254.0.0/16
                    || (a & 0xFFC00000) == 0x64400000;  // 100.64.0.0/10
            }

            var top = (ulong)(Bits >> 64);
            return Bits <= UInt128.One                       // :: and ::1
                || (top & 0xFE00000000000000) == 0xFC00000000000000   // fc00::/7 unique local
                || (top & 0xFFC0000000000000) == 0xFE80000000000000;  // fe80::/10 link-local
        }
    }
}
