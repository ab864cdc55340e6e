using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Downloads.Contracts.Identity;
using Downloads.Contracts.Redis;
using Downloads.Origin.Limits;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NSec.Cryptography;
using Xunit.Abstractions;

namespace Downloads.Origin.Tests.Limits;

/// <summary>
/// The origin's bandwidth share over real sockets, with a small configured link (2 MB/s: public downloads get 1 MB/s
/// while a mirror syncs). Loopback itself is far faster, so whatever is not paced runs at loopback speed: the
/// assertions are byte counts and ratios from the origin's counters, never durations.
/// </summary>
public sealed class BandwidthShareTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Big = "os/big.img";
    private const long LinkBitsPerSecond = 16_000_000;
    private static readonly byte[] Data = RandomNumberGenerator.GetBytes(48 * 1024 * 1024);
    private readonly TempDirectory _dir = new("origin-bandwidth");
    private readonly RedisServer _redis = new();
    private readonly Key _mirrorKey = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
    private WebApplication _app = null!;
    private string _url = "";
    private string[] _config = [];

    private OriginPacer Pacer => _app.Services.GetRequiredService<OriginPacer>();

    public async Task InitializeAsync()
    {
        var root = Directory.CreateDirectory(_dir.Combine("root")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "os"));
        await File.WriteAllBytesAsync(Path.Combine(root, Big), Data);
        var keyFile = _dir.Combine("key");
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", keyFile], new StringWriter()));
        var db = _redis.Admin.GetDatabase();
        await db.SetAddAsync(Keyspace.Mirrors, "uk-cam");
        await db.HashSetAsync(Keyspace.MirrorConfig("uk-cam"), [new("status", "approved"), new("enabled", "1"),
            new(Keyspace.ConfigFields.PublicKey, Convert.ToBase64String(_mirrorKey.PublicKey.Export(KeyBlobFormat.RawPublicKey)))]);

        _url = $"http://127.0.0.1:{FreePort.Next()}";
        _config = [$"--Origin:Root={root}", $"--Origin:StateDir={_dir.Combine("state")}",
            $"--Origin:PrivateKeyFile={keyFile}", $"--Redis:Configuration={_redis.Configuration}"];
        _app = OriginApp.Build([$"--urls={_url}", .. _config,
            $"--Limits:LinkBitsPerSecond={LinkBitsPerSecond}", "--Limits:MirrorBandwidthShare=0.5"]);
        await _app.StartAsync();
        await _app.Services.GetRequiredService<MirrorKeyDirectory>().RefreshAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _redis.DisposeAsync();
        _mirrorKey.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task With_no_mirror_syncing_a_public_download_even_with_a_forged_signature_is_not_paced_and_its_range_is_exact()
    {
        Assert.Equal(LinkBitsPerSecond, _app.Services.GetRequiredService<IOptions<OriginLimitsOptions>>().Value.LinkBitsPerSecond);
        using var client = LoopbackClients.From("127.0.0.2");
        // 16 MiB: at the paced 1 MB/s it would wait about 16 s for the bucket.
        const long from = 1000, length = 16 * 1024 * 1024;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_url}/{Big}");
        // Signed with a key ops never approved: a public request, which starts no pacing and is counted as public.
        using (var forger = Key.Create(SignatureAlgorithm.Ed25519))
            RequestSignature.Sign(request, "uk-cam", forger, DateTimeOffset.UtcNow);
        request.Headers.Range = new RangeHeaderValue(from, from + length - 1);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(Data.AsSpan((int)from, (int)length).ToArray(), await response.Content.ReadAsByteArrayAsync());

        Assert.False(Pacer.MirrorActive);
        // The last block is counted once its flush returns on the server, which may be just after the client has it.
        await Eventually.TrueAsync(() => Pacer.PublicBytes == length, TimeSpan.FromSeconds(10), "every byte sent is counted");
        Assert.Equal(TimeSpan.Zero, Pacer.PublicWaited);
        Assert.Equal(0, Pacer.MirrorBytes);
    }

    [Fact]
    public async Task A_signed_mirror_transfer_gets_at_least_its_share_while_public_downloads_run()
    {
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(2, 3).Select(i => LoopbackClients.From($"127.0.0.{i}", Timeout.InfiniteTimeSpan)).ToList();
        var downloads = clients.Select(c => Drain(c, stop.Token)).ToList();
        try
        {
            // The public downloads are running (unpaced so far) before the mirror asks.
            await Eventually.TrueAsync(() => Pacer.PublicBytes > 4 * 1024 * 1024, TimeSpan.FromSeconds(30), "the public downloads are under way");
            Assert.Equal(TimeSpan.Zero, Pacer.PublicWaited);

            const long length = 40 * 1024 * 1024;
            using var mirror = LoopbackClients.From("127.0.0.5");
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{_url}/{Big}");
            RequestSignature.Sign(request, "uk-cam", _mirrorKey, DateTimeOffset.UtcNow);
            request.Headers.Range = new RangeHeaderValue(0, length - 1);
            using var response = await mirror.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            // Counted from here, when the mirror's transfer is surely admitted (before, the public is rightly unpaced);
            // the socket buffers hold a few MB at most, so most of the mirror's bytes are still to be sent.
            var (publicBefore, mirrorBefore) = (Pacer.PublicBytes, Pacer.MirrorBytes);
            Assert.Equal(Data.AsSpan(0, (int)length).ToArray(), await response.Content.ReadAsByteArrayAsync());
            var publicDuring = Pacer.PublicBytes - publicBefore;
            var mirrorDuring = Pacer.MirrorBytes - mirrorBefore;

            // Unpaced, three public downloads take about three quarters of the bytes on loopback; paced to the public's
            // half of the link they take what 1 MB/s allows (and the chunk each had been granted) while the mirror's run free.
            Assert.True(mirrorDuring > length / 2, $"only {mirrorDuring} of the mirror's bytes were sent after its headers arrived");
            var mirrorShare = (double)mirrorDuring / (mirrorDuring + publicDuring);
            output.WriteLine($"the mirror got {mirrorDuring} bytes, the public {publicDuring} ({mirrorShare:P1} to the mirror); waited {Pacer.PublicWaited.TotalSeconds:F2} s");
            Assert.True(mirrorShare >= 0.5, $"the mirror got {mirrorShare:P1} of the bytes sent during its transfer ({publicDuring} public bytes against its {mirrorDuring})");
            await Eventually.TrueAsync(() => Pacer.MirrorBytes == length, TimeSpan.FromSeconds(10), "every byte sent to the mirror is counted");
            // A wait is counted when it ends; the mirror may have been done before the bucket ran dry, but it counts
            // as active for OriginPacer.Linger after, and the public downloads queue for the bucket meanwhile.
            await Eventually.TrueAsync(() => Pacer.PublicWaited > TimeSpan.Zero, TimeSpan.FromSeconds(10), "the public downloads were paced");

            await Eventually.TrueAsync(() => Pacer.MirrorTransfers == 0, TimeSpan.FromSeconds(10), "the mirror's response is complete");
            var metrics = await mirror.GetStringAsync($"{_url}/-/metrics");
            var (promtool, promtoolOutput) = await Promtool.RunAsync(metrics, Path.GetTempPath(), "check", "metrics");
            Assert.True(promtool == 0, promtoolOutput);
            var samples = PrometheusText.Parse(metrics);
            double Sent(string who) => samples.Single(s => s.Name == "downloads_origin_sent_bytes_total" && s.Label("client") == who).Value;
            Assert.Equal(length, Sent("mirror"));
            Assert.True(Sent("public") >= publicBefore + publicDuring);
            Assert.True(samples.Single(s => s.Name == "downloads_origin_public_paced_seconds_total").Value > 0);
            Assert.Equal(0, samples.Single(s => s.Name == "downloads_origin_mirror_transfers").Value);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(downloads);
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Staged_ciphertext_is_paced_and_counted_as_public_unless_a_verified_mirror_asks()
    {
        var secret = _dir.Combine("secret.img");
        await File.WriteAllBytesAsync(secret, Data.AsSpan(0, 2 * 1024 * 1024).ToArray());
        var output = new StringWriter();
        var error = new StringWriter();
        var releaseAt = DateTimeOffset.UtcNow.AddDays(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(0 == await OriginCommands.RunAsync(["stage", secret, "--as", "os/zz-staged.img", "--release-at", releaseAt, .. _config], output, error),
            error.ToString());
        var path = $"/-/staged/{output.ToString().Split(' ')[1]}";

        // A mirror is syncing (its transfer stands in here): the public fetch of the ciphertext, its id public in the
        // signed staging list, is held to the public's 1 MB/s like any file, so it waits for the bucket.
        Pacer.MirrorStarted();
        long length;
        using (var client = LoopbackClients.From("127.0.0.2"))
            length = (await client.GetByteArrayAsync(_url + path)).LongLength;
        Pacer.MirrorEnded();
        Assert.True(length > 2 * 1024 * 1024);
        await Eventually.TrueAsync(() => Pacer.PublicBytes == length, TimeSpan.FromSeconds(10), "the public fetch is counted as public");
        Assert.True(Pacer.PublicWaited > TimeSpan.Zero, "the public fetch was paced");
        Assert.Equal(0, Pacer.MirrorBytes);

        // The mirror's own signed fetch is a mirror's: counted as such and never paced.
        using var mirror = LoopbackClients.From("127.0.0.5");
        using var request = new HttpRequestMessage(HttpMethod.Get, _url + path);
        RequestSignature.Sign(request, "uk-cam", _mirrorKey, DateTimeOffset.UtcNow);
        using (var response = await mirror.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(length, (await response.Content.ReadAsByteArrayAsync()).LongLength);
        }
        await Eventually.TrueAsync(() => Pacer.MirrorBytes == length, TimeSpan.FromSeconds(10), "the mirror's fetch is counted as the mirror's");
        Assert.Equal(length, Pacer.PublicBytes);

        var samples = PrometheusText.Parse(await mirror.GetStringAsync($"{_url}/-/metrics"));
        double Sent(string who) => samples.Single(s => s.Name == "downloads_origin_sent_bytes_total" && s.Label("client") == who).Value;
        Assert.Equal(length, Sent("public"));
        Assert.Equal(length, Sent("mirror"));
        double Served(string who) => samples.Single(s => s.Name == "downloads_origin_admission_total" && s.Label("client") == who && s.Label("outcome") == "served").Value;
        Assert.Equal(1, Served("public"));
        Assert.Equal(1, Served("mirror"));
    }

    /// <summary>Downloads the whole file as fast as it comes, again and again, until <paramref name="stop"/>.</summary>
    private async Task Drain(HttpClient client, CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var response = await client.GetAsync($"{_url}/{Big}", HttpCompletionOption.ResponseHeadersRead, stop);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await using var body = await response.Content.ReadAsStreamAsync(stop);
                while (await body.ReadAsync(buffer, stop) > 0)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
