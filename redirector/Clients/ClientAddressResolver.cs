using System.Net;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Clients;

/// <summary>
/// The client's address: the socket's, or — only when the socket is a trusted proxy — the right-most
/// address in <c>X-Forwarded-For</c> that is not itself a trusted proxy (left-most entries are whatever
/// the client chose to send, so they prove nothing).
/// </summary>
internal sealed class ClientAddressResolver
{
    private readonly IPNetwork[] _trusted;

    public ClientAddressResolver(IOptions<RedirectorOptions> options)
    {
        var list = options.Value.TrustedProxies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        _trusted = new IPNetwork[list.Length];
        for (var i = 0; i < list.Length; i++)
        {
            var text = list[i].Trim();
            if (IPNetwork.TryParse(text, out var network))
                _trusted[i] = network;
            else if (IPAddress.TryParse(text, out var address))
                _trusted[i] = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            else
                throw new OptionsValidationException(RedirectorOptions.Section, typeof(RedirectorOptions),
                    [$"Redirector:TrustedProxies entry '{text}' is neither an address nor a CIDR network"]);
        }
    }

    public bool IsTrusted(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        foreach (var network in _trusted)
        {
            if (network.Contains(address))
                return true;
        }
        return false;
    }

    /// <summary>
    /// The client address of a request; null only when the socket has none (in-memory test servers).
    /// Resolved once per request and kept on it as a <see cref="ClientAddressFeature"/>: the rate limiter
    /// and the redirect handler both ask, and the second answer is the first one's instance.
    /// </summary>
    public IPAddress? Resolve(HttpContext context)
    {
        if (context.Features.Get<ClientAddressFeature>() is { } cached)
            return cached.Address;
        var address = ResolveUncached(context);
        context.Features.Set(new ClientAddressFeature(address));
        return address;
    }

    private IPAddress? ResolveUncached(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null)
            return null;
        if (remote.IsIPv4MappedToIPv6)
            remote = remote.MapToIPv4();
        if (!IsTrusted(remote))
            return remote;
        var forwarded = context.Request.Headers["X-Forwarded-For"];
        // Walk hops right to left (header lines too): the first one not a trusted proxy is the client.
        for (var h = forwarded.Count - 1; h >= 0; h--)
        {
            ReadOnlySpan<char> line = forwarded[h];
            while (!line.IsEmpty)
            {
                var comma = line.LastIndexOf(',');
                var hop = line[(comma + 1)..].Trim();
                line = comma < 0 ? [] : line[..comma];
                if (!IPAddress.TryParse(hop, out var address))
                    return remote; // garbage in the chain: believe only the socket
                if (address.IsIPv4MappedToIPv6)
                    address = address.MapToIPv4();
                if (!IsTrusted(address))
                    return address;
                remote = address;
            }
        }
        return remote;
    }

    /// <summary>Whether the request came in over https, directly or per <c>X-Forwarded-Proto</c> from a trusted proxy.</summary>
    public bool IsHttps(HttpContext context)
    {
        if (context.Request.IsHttps)
            return true;
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || !IsTrusted(remote))
            return false;
        var proto = context.Request.Headers["X-Forwarded-Proto"];
        return proto.Count > 0 && string.Equals(proto[^1], "https", StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The client address <see cref="ClientAddressResolver"/> resolved for a request, kept on the request's features.</summary>
internal sealed class ClientAddressFeature(IPAddress? address)
{
    /// <summary>The address; null when the socket has none.</summary>
    public IPAddress? Address { get; } = address;
}
