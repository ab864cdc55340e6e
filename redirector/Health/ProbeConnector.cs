using System.Net;
using System.Net.Sockets;

namespace Downloads.Redirector.Health;

/// <summary>
/// Opens the health checker's connections with name resolution off the thread pool. On Linux
/// <c>Dns.GetHostAddressesAsync</c> runs the blocking <c>getaddrinfo</c> on a pool thread; a round
/// probing hundreds of mirrors, <see cref="HealthOptions.Parallelism"/> at a time, then holds most of
/// a 2-core box's pool threads in the resolver while redirects queue behind them — measured here as
/// 1–9 s stalls of the whole redirector once per round with 1,000 mirrors (bench/README.md). Each
/// lookup here gets a dedicated thread instead (at most <see cref="HealthOptions.Parallelism"/> at once);
/// the probe waits for it asynchronously and gives up on its own timeout.
/// </summary>
/// <remarks>
/// It is also where <see cref="ProbeTargetPolicy"/> applies: only the resolved addresses the policy allows are
/// connected to, and a name that resolves to none of them fails the probe without a connection attempt.
/// </remarks>
internal sealed class ProbeConnector(Func<string, IPAddress[]>? resolve = null, ProbeTargetPolicy? policy = null)
{
    private readonly Func<string, IPAddress[]> _resolve = resolve ?? Dns.GetHostAddresses;
    private readonly ProbeTargetPolicy _policy = policy ?? new ProbeTargetPolicy("");

    /// <summary>For <see cref="SocketsHttpHandler.ConnectCallback"/>.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var resolved = IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : await ResolveAsync(endpoint.Host, cancellationToken);
        var addresses = Array.FindAll(resolved, _policy.Allows);
        if (addresses.Length == 0)
        {
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"refused to probe {endpoint.Host}: it resolves only to private, loopback, link-local or other non-public addresses " +
                $"({string.Join(", ", resolved.Take(4))}); allow them with Health:AllowedNetworks");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => _resolve(host), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .WaitAsync(cancellationToken);
}
