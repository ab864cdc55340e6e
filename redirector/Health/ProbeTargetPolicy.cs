using System.Net;
using System.Net.Sockets;

namespace Downloads.Redirector.Health;

/// <summary>
/// Which addresses the health prober may connect to: public unicast only, unless an address is in
/// <see cref="HealthOptions.AllowedNetworks"/>. The prober runs inside our network and fetches URLs a
/// stranger's mirror named, so without this a mirror (or its DNS, answering differently on each lookup)
/// could point it at the loopback admin API, a cloud metadata address or anything on the LAN. The check
/// runs on the addresses the socket is about to connect to (<see cref="ProbeConnector"/>), after name
/// resolution, so DNS rebinding cannot slip past it.
/// </summary>
internal sealed class ProbeTargetPolicy
{
    // Never probed unless allowlisted: "this" network, RFC 1918 private, CGNAT shared space, loopback, link-local,
    // IETF protocol assignments, documentation, benchmarking, multicast, reserved and broadcast; for IPv6 the
    // unspecified and loopback addresses, unique-local, site-local, link-local, documentation, NAT64 and multicast.
    private static readonly IPNetwork[] Blocked =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.0.2.0/24"),
        IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("198.51.100.0/24"), IPNetwork.Parse("203.0.113.0/24"),
        IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("64:ff9b::/96"), IPNetwork.Parse("64:ff9b:1::/48"),
        IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("fec0::/10"), IPNetwork.Parse("2001:db8::/32"),
        IPNetwork.Parse("ff00::/8"),
    ];

    private readonly IPNetwork[] _allowed;

    /// <summary>A policy with <paramref name="allowed"/> (see <see cref="TryParse"/>) let through.</summary>
    public ProbeTargetPolicy(string? allowed)
    {
        if (!TryParse(allowed, out var networks, out var bad))
            throw new ArgumentException($"Health:AllowedNetworks entry '{bad}' is neither an address nor a CIDR network", nameof(allowed));
        _allowed = networks;
    }

    /// <summary>Parses a comma-separated list of addresses and CIDR networks; <paramref name="bad"/> names the first that is neither.</summary>
    public static bool TryParse(string? text, out IPNetwork[] networks, out string bad)
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        networks = new IPNetwork[parts.Length];
        bad = "";
        for (var i = 0; i < parts.Length; i++)
        {
            if (IPNetwork.TryParse(parts[i], out var network))
                networks[i] = network;
            else if (IPAddress.TryParse(parts[i], out var address))
                networks[i] = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            else
            {
                bad = parts[i];
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether the prober may connect to <paramref name="address"/>.</summary>
    public bool Allows(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        foreach (var network in _allowed)
        {
            if (network.Contains(address))
                return true;
        }
        return IsPublic(address);
    }

    /// <summary>
    /// Public unicast: in none of the blocked ranges (an IPv4-mapped address is judged as IPv4), and no IPv4 address
    /// an IPv6 one carries inside it is blocked either: 6to4 (<c>2002:AABB:CCDD::/16</c>, relayed to AA.BB.CC.DD),
    /// Teredo (<c>2001:0::/32</c>: the server's IPv4 and the client's, stored inverted) and the deprecated
    /// IPv4-compatible <c>::a.b.c.d</c>, so none of them reaches a private or loopback IPv4 host.
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        foreach (var network in Blocked)
        {
            if (network.Contains(address))
                return false;
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return true;
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        if (b[0] == 0x20 && b[1] == 0x02)
            return IsPublic(new IPAddress(b[2..6]));
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        {
            Span<byte> client = stackalloc byte[4];
            for (var i = 0; i < 4; i++)
                client[i] = (byte)~b[12 + i];
            return IsPublic(new IPAddress(b[4..8])) && IsPublic(new IPAddress(client));
        }
        if (b[..12].IndexOfAnyExcept((byte)0) < 0)
            return IsPublic(new IPAddress(b[12..]));
        return true;
    }
}
