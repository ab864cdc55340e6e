using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Reporting;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Tests.Sync;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Downloads.Mirror.Tests.Transport;

/// <summary>
/// File responses as the mirror serves them (its own file endpoint over a published live tree), over
/// real sockets: sendfile on plain HTTP/1.1, Kestrel's copy where sendfile cannot go (TLS, HTTP/2),
/// and the bytes counted for reporting in every case.
/// </summary>
public sealed class SendFileTests : IDisposable
{
    private const string Small = "noobs/small.zip";
    private const string Large = "os/large.img";
    private const string Empty = "noobs/empty.txt";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _files = new("sendfile");
    private readonly byte[] _small = RandomBytes(3 * 1024 * 1024 + 17);
    private readonly byte[] _large = RandomBytes(32 * 1024 * 1024);

    public SendFileTests()
    {
        Directory.CreateDirectory(_files.Combine("noobs"));
        Directory.CreateDirectory(_files.Combine("os"));
        File.WriteAllBytes(_files.Combine(Small), _small);
        File.WriteAllBytes(_files.Combine(Large), _large);
        File.WriteAllBytes(_files.Combine(Empty), []);
    }

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Pipelined_ranged_full_and_head_responses_arrive_whole_in_order_and_every_byte_sent_is_counted()
    {
        await using var host = await StartAsync("sf1");
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        var requests =
            $"GET /{Small} HTTP/1.1\r\nHost: m\r\nRange: bytes=100-199\r\n\r\n" +
            $"GET /{Small} HTTP/1.1\r\nHost: m\r\n\r\n" +
            $"HEAD /{Small} HTTP/1.1\r\nHost: m\r\n\r\n" +
            $"GET /{Empty} HTTP/1.1\r\nHost: m\r\n\r\n" +
            $"GET /{Small} HTTP/1.1\r\nHost: m\r\nRange: bytes=-5\r\nConnection: close\r\n\r\n";
        var received = await ExchangeAsync(host.Port, requests);

        var responses = Parse(received, heads: [false, false, true, false, false]);
        Assert.Equal(5, responses.Count);
        Assert.Equal(206, responses[0].Status);
        Assert.Equal(_small.AsSpan(100, 100).ToArray(), responses[0].Body);
        Assert.Equal(200, responses[1].Status);
        Assert.Equal(_small, responses[1].Body);
        Assert.Equal(200, responses[2].Status);
        Assert.Equal(_small.Length.ToString(CultureInfo.InvariantCulture), responses[2].Headers["content-length"]);
        Assert.Empty(responses[2].Body);
        Assert.Equal(200, responses[3].Status);
        Assert.Empty(responses[3].Body);
        Assert.Equal(206, responses[4].Status);
        Assert.Equal(_small.AsSpan(_small.Length - 5).ToArray(), responses[4].Body);

        // Exactly what the client received, of which every file body byte went by sendfile.
        await Eventually.TrueAsync(() => counters.Bytes == received.Length, Wait, $"counted {counters.Bytes} of {received.Length} bytes received");
        Assert.Equal(100 + _small.Length + 5, counters.FileBytes);
        Assert.Equal(5, counters.Requests);
    }

    [Fact]
    public async Task A_client_reading_through_a_small_window_gets_every_byte_while_sendfile_waits_on_it()
    {
        await using var host = await StartAsync("sf5");
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        await client.ConnectAsync(IPAddress.Loopback, host.Port);
        await client.SendAsync(Encoding.ASCII.GetBytes($"GET /{Large} HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n"));
        using var received = new MemoryStream();
        var buffer = new byte[8 * 1024];
        using var timeout = new CancellationTokenSource(Wait * 4);
        int n;
        while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, n);
            // Fall behind now and then, so the server's socket buffer fills and sendfile has to wait.
            if (received.Length % (1024 * 1024) < n)
                await Task.Delay(2);
        }

        var response = Parse(received.ToArray(), heads: [false]).Single();
        Assert.Equal(200, response.Status);
        Assert.Equal(_large, response.Body);
        Assert.Equal(_large.Length, counters.FileBytes);
    }

    [Fact]
    public async Task A_download_the_client_abandons_counts_what_was_sent_logs_no_error_and_the_mirror_serves_on()
    {
        var log = new RecordingLoggerProvider();
        await using var host = await StartAsync("sf2", services => services.AddSingleton<ILoggerProvider>(log));
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        long read = 0;
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 })
        {
            await client.ConnectAsync(IPAddress.Loopback, host.Port);
            await client.SendAsync(Encoding.ASCII.GetBytes($"GET /{Large} HTTP/1.1\r\nHost: m\r\n\r\n"));
            var buffer = new byte[16 * 1024];
            // Past the first sendfile call (1 MiB): a call the reset interrupts may report nothing sent (the kernel
            // does not say how much of it went), so only completed calls are sure to be counted.
            while (read < 3 * 1024 * 1024)
            {
                var n = await client.ReceiveAsync(buffer);
                Assert.NotEqual(0, n);
                read += n;
            }
            // Closing with unread data resets the connection, as a client that gives up does.
        }

        await Eventually.TrueAsync(() => counters.OpenConnections == 0, Wait, "the abandoned connection closed");
        // What the kernel took before the reset: what the client read, less at most the one sendfile call (1 MiB) the
        // reset cut short, and far from the whole file.
        const int Chunk = 1024 * 1024;
        Assert.InRange(counters.Bytes, read - Chunk, _large.Length / 2);
        Assert.InRange(counters.FileBytes, read - Chunk - 1024, counters.Bytes);

        using var http = new HttpClient { Timeout = Wait * 2 };
        Assert.Equal(_small, await http.GetByteArrayAsync($"http://127.0.0.1:{host.Port}/{Small}"));
        Assert.DoesNotContain(log.Lines, l => l.Contains(" Error ", StringComparison.Ordinal) || l.Contains(" Critical ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Over_tls_files_are_copied_through_Kestrel_byte_identical_and_counted_with_the_tls_overhead()
    {
        var port = FreePort.Next();
        using var certificate = SelfSignedCertificate();
        await using var host = await StartAsync("sf3", services => services.Configure<KestrelServerOptions>(kestrel =>
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate))));
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var https = new HttpClient(handler) { Timeout = Wait * 2 };
        Assert.Equal(_small, await https.GetByteArrayAsync($"https://127.0.0.1:{port}/{Small}"));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{port}/{Small}");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 1999);
        using (var response = await https.SendAsync(ranged))
            Assert.Equal(_small.AsSpan(1000, 1000).ToArray(), await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(0, counters.FileBytes);
        Assert.InRange(counters.Bytes, _small.Length + 1000, _small.Length + 1000 + 64 * 1024);
    }

    [Fact]
    public async Task Over_http2_files_are_copied_through_Kestrel_byte_identical()
    {
        await using var host = await StartAsync("sf4", null, "--Kestrel:EndpointDefaults:Protocols=Http2");
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        using var h2c = new HttpClient { Timeout = Wait * 2, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await h2c.GetAsync($"http://127.0.0.1:{host.Port}/{Small}");
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(_small, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(0, counters.FileBytes);
        Assert.True(counters.Bytes >= _small.Length, $"counted {counters.Bytes}");
    }

    private async Task<MirrorHost> StartAsync(string id, Action<IServiceCollection>? configure = null, params string[] extra)
    {
        var host = new MirrorHost(id, SyncWorld.NoRedis, configure, extra);
        await host.App.StartAsync();
        host.App.Services.GetRequiredService<LiveTree>().Publish(Snapshot((Small, _small), (Large, _large), (Empty, [])));
        return host;
    }

    /// <summary>A live tree as a verified sync leaves it: a manifest and each file's verified bytes on disk.</summary>
    private LiveSnapshot Snapshot(params (string Path, byte[] Bytes)[] files)
    {
        var entries = files.Select(f => new ManifestFile
        {
            Path = f.Path,
            Size = f.Bytes.Length,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(f.Bytes)),
            ChangedAt = 1,
            Modified = DateTimeOffset.UnixEpoch.AddDays(20_000),
        }).ToList();
        var manifest = new Manifest { Serial = 1, Published = DateTimeOffset.UtcNow, Files = entries };
        return new LiveSnapshot(manifest, [], [], entries.ToFrozenDictionary(e => e.Path, e => new LiveFile(e, _files.Combine(e.Path)), StringComparer.Ordinal));
    }

    private static async Task<byte[]> ExchangeAsync(int port, string requests)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.SendAsync(Encoding.ASCII.GetBytes(requests));
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(Wait);
        int n;
        while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            received.Write(buffer, 0, n);
        return received.ToArray();
    }

    private sealed record Response(int Status, Dictionary<string, string> Headers, byte[] Body);

    /// <summary>Splits a byte stream of HTTP/1.1 responses framed by Content-Length (<paramref name="heads"/>: which answer a HEAD).</summary>
    private static List<Response> Parse(byte[] stream, bool[] heads)
    {
        var responses = new List<Response>();
        var at = 0;
        foreach (var head in heads)
        {
            var end = stream.AsSpan(at).IndexOf("\r\n\r\n"u8);
            Assert.True(end >= 0, $"response {responses.Count + 1} has no complete header");
            var lines = Encoding.ASCII.GetString(stream, at, end).Split("\r\n");
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
            at += end + 4;
            Assert.True(head || headers.ContainsKey("content-length"), $"response {responses.Count + 1} has no Content-Length: {string.Join(" | ", lines)}");
            var length = head ? 0 : int.Parse(headers["content-length"], CultureInfo.InvariantCulture);
            Assert.True(stream.Length - at >= length, $"response {responses.Count + 1} is short: {stream.Length - at} of {length} body bytes");
            responses.Add(new Response(int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture), headers, stream.AsSpan(at, length).ToArray()));
            at += length;
        }
        Assert.Equal(stream.Length, at);
        return responses;
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
