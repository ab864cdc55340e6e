using System.Buffers.Binary;
using System.Net;

namespace Downloads.Origin.Limits;

/// <summary>
/// Whom a per-client limit counts as one client: an IPv4 address, or the /64 of an IPv6 one (one home or
/// host usually holds a whole /64, so counting single IPv6 addresses would give it billions of allowances).
/// </summary>
internal readonly record struct ClientPrefix(ulong High, ulong Low)
{
    public static ClientPrefix Of(IPAddress? address)
    {
        if (address is null)
            return default;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4
            ? new ClientPrefix(0, BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : new ClientPrefix(BinaryPrimitives.ReadUInt64BigEndian(bytes), ulong.MaxValue);
    }
}
