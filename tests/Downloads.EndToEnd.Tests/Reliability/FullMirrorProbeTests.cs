using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Mirror;
using Downloads.Mirror.Limits;
using Downloads.Mirror.Reporting;
using Downloads.Mirror.Storage;
using Downloads.Redirector;
using Downloads.Redirector.Health;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.EndToEnd.Tests.Reliability;

/// <summary>
/// A mirror whose every connection slot is held by slow readers still passes the redirector's health check:
/// the mirror publishes its probe key in Redis, the checker signs its probes with it, and the mirror serves
/// them over the limit. Real redis-server, real mirror, real checker, real sockets.
/// </summary>
public sealed class FullMirrorProbeTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string Path = "os/full.img";
    private const int ChunkSize = 1024 * 1024;

    [Fact]
    public async Task A_mirror_full_of_slow_readers_passes_signed_probes_and_fails_unsigned_ones()
    {
        await redis.FlushAsync();
        var bytes = new byte[16 * 1024 * 1024];
        new Random(16).NextBytes(bytes);
        using var dir = new TempDirectory("fullprobe");
        var file = dir.Combine("full.img");
        await File.WriteAllBytesAsync(file, bytes);
        var (sha, chunks, length) = await FileHasher.HashAsync(new MemoryStream(bytes), ChunkSize);
        var entry = new ManifestFile { Path = Path, Size = length, Sha256 = sha, Chunks = chunks, ChangedAt = 1, Modified = DateTimeOffset.UnixEpoch.AddDays(20_000) };
        var manifest = new Manifest { Serial = 1, ChunkSize = ChunkSize, Published = DateTimeOffset.UtcNow, Expires = DateTimeOffset.UtcNow.AddDays(7), Files = [entry] };

        var port = FreePort.Next();
        await using var mirror = MirrorApp.Build([
            $"--urls=http://127.0.0.1:{port}", "--Mirror:Id=full", $"--Mirror:DataDir={dir.Combine("data")}",
            "--Mirror:Upstream=http://127.0.0.1:9", "--Mirror:PublicKey=unused", $"--Mirror:HttpUrl=http://127.0.0.1:{port}",
            $"--Redis:Configuration={redis.Configuration}", "--Reporting:Interval=00:02:00", "--Logging:LogLevel:Default=Warning",
            "--Serving:MaxConnections=2"]);
        await mirror.StartAsync();
        mirror.Services.GetRequiredService<LiveTree>().Publish(new LiveSnapshot(manifest, [], [],
            new Dictionary<string, LiveFile> { [Path] = new LiveFile(entry, file) }.ToFrozenDictionary(StringComparer.Ordinal)));
        var reporter = mirror.Services.GetRequiredService<MirrorReporter>();
        Assert.True(await reporter.ReportOnceAsync());
        var db = redis.Admin.GetDatabase();
        await TestMirrors.ApproveInfoAsync(db, "full"); // the prober probes approved URLs only
        var key = mirror.Services.GetRequiredService<ProbeKey>();
        Assert.Equal(key.Encoded, (string?)await db.HashGetAsync(Keyspace.MirrorState("full"), Keyspace.StateFields.ProbeKey));

        // Two clients on two addresses take both slots and stop reading.
        var readers = new List<Socket>();
        try
        {
            for (byte a = 2; a <= 3; a++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                readers.Add(socket);
                socket.Bind(new IPEndPoint(new IPAddress([127, 0, 0, a]), 0));
                await socket.ConnectAsync(IPAddress.Loopback, port);
                await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /{Path} HTTP/1.1\r\nHost: m\r\n\r\n"));
            }
            var traffic = mirror.Services.GetRequiredService<TrafficCounters>();
            await Eventually.TrueAsync(() => traffic.OpenConnections == 2, TimeSpan.FromSeconds(30), "two slow readers connected");

            using var checker = new HealthChecker(redis.Admin, new Holder(manifest),
                Options.Create(new HealthOptions
                {
                    Interval = TimeSpan.FromMilliseconds(100), Timeout = TimeSpan.FromSeconds(15), AllowedNetworks = RedirectorArgs.ProbeAllowedNetworks,
                }),
                Options.Create(new RedirectorOptions()), TimeProvider.System, NullLogger<HealthChecker>.Instance, new Random(3));

            // Another key in Redis (a mirror restarted since, say): the probe is unsigned for this mirror and,
            // like any client's request on a full mirror, answered 503 — what every probe got before the exemption.
            await db.HashSetAsync(Keyspace.MirrorState("full"), Keyspace.StateFields.ProbeKey, ProbeToken.EncodeKey(ProbeToken.NewKey()));
            var unsigned = Assert.Single(await checker.RunRoundAsync());
            Assert.False(unsigned.Result.Ok);
            Assert.Contains("503", unsigned.Result.Reason, StringComparison.Ordinal);

            // The mirror's next report puts its key back; the next round's probe is signed and served.
            Assert.True(await reporter.ReportOnceAsync());
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            var signed = Assert.Single(await checker.RunRoundAsync());
            Assert.True(signed.Result.Ok, signed.Result.Reason);

            var limits = mirror.Services.GetRequiredService<LimitCounters>();
            Assert.True(limits.ProbesExempted >= 2, $"{limits.ProbesExempted} probe requests exempted (HEAD and GET)");
            Assert.True(limits.RefusedTotal >= 1, $"{limits.RefusedTotal} refused");
            // Nobody was evicted to make room: both slow readers still hold their slots.
            Assert.True(traffic.OpenConnections >= 2, $"{traffic.OpenConnections} open");
        }
        finally
        {
            foreach (var socket in readers)
                socket.Dispose();
            await mirror.StopAsync();
        }
    }

    private sealed class Holder(Manifest manifest) : IManifestSource
    {
        public Manifest? Current => manifest;
    }
}
