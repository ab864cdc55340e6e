using Downloads.Contracts.Hosting;
using System.IO.Pipelines;
using Downloads.Mirror.Limits;
using Downloads.Mirror.Reporting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Downloads.Mirror.Transport;

/// <summary>
/// Kestrel connection middleware (<c>ListenOptions.Use</c>), outermost on every endpoint: counts open
/// connections, in all and per client address (<see cref="ConnectionAdmission"/> for the connection limits), and puts a
/// <see cref="SocketOutput"/> under the connection, which sends every byte itself, files with sendfile,
/// and counts what the kernel accepts. Installed before any TLS layer, it counts what leaves the host
/// (TLS overhead included): the bytes a quota bills. A transport without a socket keeps its own output,
/// wrapped only to count.
/// </summary>
internal static class ClientConnections
{
    /// <summary>Wraps <paramref name="next"/>; <paramref name="addresses"/> null: no per-address count (its limit is off).</summary>
    public static ConnectionDelegate Wrap(ConnectionDelegate next, TrafficCounters counters, AddressConnections? addresses = null) => async connection =>
    {
        var open = counters.ConnectionOpened();
        var address = default(UInt128);
        var counted = addresses is not null && AddressKey.TryGet(connection.RemoteEndPoint, out address);
        connection.Features.Set(new ConnectionAdmission(open, counted ? addresses!.Opened(address) : 0));
        var original = connection.Transport;
        var output = connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket
            ? new SocketOutput(socket, connection, counters)
            : null;
        connection.Transport = output is null
            ? new Pipes(original.Input, new CountingPipeWriter(original.Output, counters))
            : new Pipes(original.Input, output);
        try
        {
            await next(connection);
        }
        finally
        {
            if (output is not null)
                await output.DisposeAsync();
            connection.Transport = original;
            if (counted)
                addresses!.Closed(address);
            counters.ConnectionClosed();
        }
    };

    private sealed class Pipes(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
