using System.Net;
using System.Net.Sockets;

namespace Downloads.Testing;

/// <summary>HttpClients that connect from a chosen loopback address (127.0.0.x), so one test can be many distinct clients.</summary>
public static class LoopbackClients
{
    /// <summary>An HttpClient whose connections come from <paramref name="address"/>, e.g. "127.0.0.2".</summary>
    public static HttpClient From(string address, TimeSpan? timeout = null)
    {
        var local = IPAddress.Parse(address);
        if (!IPAddress.IsLoopback(local))
            throw new ArgumentException($"{address} is not a loopback address; tests talk to loopback only.", nameof(address));
        return new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        { Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }
}
