using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Reporting;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Tests.Sync;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Downloads.Mirror.Tests.Limits;

/// <summary>
/// A mirror serving one large file from a published live tree (sendfile on plain HTTP/1.1), and clients on
/// distinct loopback addresses (127.0.0.x): every address in 127.0.0.0/8 reaches the mirror on 127.0.0.1 and
/// shows up as its own client address, so distinct clients are played on one host.
/// </summary>
internal sealed class LimitsWorld : IAsyncDisposable
{
    public const string File = "os/large.img";
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _files = new("limits");
    private readonly List<Socket> _sockets = [];

    private LimitsWorld(MirrorHost host, byte[] bytes)
    {
        Host = host;
        Bytes = bytes;
    }

    public MirrorHost Host { get; }

    public byte[] Bytes { get; }

    public TrafficCounters Counters => Host.App.Services.GetRequiredService<TrafficCounters>();

    /// <summary>Starts a mirror with <paramref name="extra"/> settings serving a file of <paramref name="size"/> random bytes.</summary>
    public static async Task<LimitsWorld> StartAsync(string id, int size, Action<IServiceCollection>? configure, params string[] extra)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var world = new LimitsWorld(new MirrorHost(id, SyncWorld.NoRedis, configure, extra), bytes);
        Directory.CreateDirectory(world._files.Combine("os"));
        await System.IO.File.WriteAllBytesAsync(world._files.Combine(File), bytes);
        await world.Host.App.StartAsync();
        var entry = new ManifestFile
        {
            Path = File,
            Size = bytes.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            ChangedAt = 1,
            Modified = DateTimeOffset.UnixEpoch.AddDays(20_000),
        };
        var manifest = new Manifest { Serial = 1, Published = DateTimeOffset.UtcNow, Files = [entry] };
        world.Host.App.Services.GetRequiredService<LiveTree>().Publish(new LiveSnapshot(manifest, [], [],
            new Dictionary<string, LiveFile> { [File] = new LiveFile(entry, world._files.Combine(File)) }.ToFrozenDictionary(StringComparer.Ordinal)));
        return world;
    }

    /// <summary>127.0.0.<paramref name="last"/>.</summary>
    public static IPAddress Loopback(byte last) => new([127, 0, 0, last]);

    /// <summary>
    /// A slow reader from <paramref name="from"/>: asks for the whole file with a tiny receive window and never
    /// reads, so the response stalls once the socket buffers are full. Kept open until the world is disposed.
    /// </summary>
    public async Task<Socket> SlowReaderAsync(IPAddress from)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        _sockets.Add(socket);
        socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(IPAddress.Loopback, Host.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /{File} HTTP/1.1\r\nHost: m\r\n\r\n"));
        return socket;
    }

    /// <summary>An HTTP client whose connections come from <paramref name="from"/>, one new connection per request.</summary>
    public HttpClient ClientFrom(IPAddress from) => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.Zero,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(from, 0));
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
    {
        BaseAddress = Host.BaseUri,
        Timeout = Wait,
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var socket in _sockets)
            socket.Dispose();
        await Host.DisposeAsync();
        _files.Dispose();
    }
}
