using System.Globalization;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Redis;
using Downloads.GeoData;
using Downloads.Redirector.Geo;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Network;

/// <summary>
/// A small real network on loopback: a stand-in origin serving a signed manifest and the files, two
/// stand-in mirrors (London and Tokyo) serving the same bytes, mirror records in a real redis-server,
/// generated MMDB geo databases read by MaxMind, and the real redirector app over a real socket.
/// </summary>
internal sealed class TestNetwork : IAsyncDisposable
{
    public const string NoobsPath = "noobs/NOOBS v4.zip";
    public const string OsPath = "os/raspios.img";

    private readonly List<IAsyncDisposable> _hosts = [];

    public required TempDirectory Files { get; init; }
    public required RedisServer Redis { get; init; }
    public required StaticHost Origin { get; init; }
    public required StaticHost London { get; init; }
    public required StaticHost Tokyo { get; init; }
    public required string PrivateKey { get; init; }
    public required Manifest Manifest { get; set; }
    public WebApplication? App { get; private set; }
    public string Url { get; private set; } = "";
    public HttpClient Http { get; } = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };

    public IDatabase Db => Redis.Admin.GetDatabase();

    public static async Task<TestNetwork> StartAsync(RedisServer redis)
    {
        await redis.FlushAsync();
        var files = new TempDirectory("redir");
        Write(files, NoobsPath, 5 * 1024 * 1024 + 12345, 1);
        Write(files, OsPath, 300_000, 2);
        var (priv, _) = ManifestSigner.GenerateKeyPair();
        var manifest = await BuildManifestAsync(files.Path, [NoobsPath, OsPath], serial: 7, changedAt: 7);
        var origin = await StaticHost.StartAsync(files.Path);
        var london = await StaticHost.StartAsync(files.Path);
        var tokyo = await StaticHost.StartAsync(files.Path);
        var net = new TestNetwork { Files = files, Redis = redis, Origin = origin, London = london, Tokyo = tokyo, PrivateKey = priv, Manifest = manifest };
        net._hosts.AddRange([origin, london, tokyo]);
        net.Publish(manifest);
        await net.AddMirrorAsync("lon", london.Url, 51.5, -0.12, "GB", "EU");
        await net.AddMirrorAsync("tyo", tokyo.Url, 35.68, 139.69, "JP", "AS");
        return net;
    }

    public static void Write(TempDirectory dir, string path, int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var full = dir.Combine(path.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, bytes);
    }

    public static async Task<Manifest> BuildManifestAsync(string root, string[] paths, long serial, long changedAt)
    {
        var list = new List<ManifestFile>();
        foreach (var path in paths.Order(StringComparer.Ordinal))
        {
            await using var stream = File.OpenRead(Path.Combine(root, path));
            var (sha, chunks, length) = await FileHasher.HashAsync(stream, ManifestDefaults.ChunkSize);
            list.Add(new ManifestFile { Path = path, Size = length, Sha256 = sha, Chunks = chunks, ChangedAt = changedAt, Modified = DateTimeOffset.UnixEpoch });
        }
        var now = DateTimeOffset.UtcNow;
        return new Manifest { Serial = serial, Published = now, Expires = now.AddDays(7), Files = list };
    }

    public void Publish(Manifest manifest)
    {
        Manifest = manifest;
        Origin.Publish(manifest, PrivateKey);
    }

    public Task AddMirrorAsync(string id, string url, double lat, double lon, string country, string continent,
        long serial = 7, double rateBps = 0, string sets = "") =>
        TestMirrors.AddApprovedAsync(Db, id, url, lat, lon, country, continent, serial, rateBps, sets);

    public Task ReportAsync(string id, long serial, double rateBps = 0) => TestMirrors.ReportAsync(Db, id, serial, rateBps);

    /// <summary>Starts the redirector; waits until it has the manifest and both mirrors unless told not to.</summary>
    public async Task StartRedirectorAsync(bool waitReady = true, params string[] extra)
    {
        var (city, asn) = SampleGeoDatabases.WriteAll(Files.Path);
        Url = $"http://127.0.0.1:{FreePort.Next()}";
        var args = new RedirectorArgs
        {
            Url = Url, Redis = Redis.Configuration, Origin = Origin.Url, PublicKey = ManifestSigner.PublicKeyOf(PrivateKey),
            CityDatabase = city, AsnDatabase = asn,
        };
        App = RedirectorApp.Build(args.Build(extra));
        await App.StartAsync();
        if (waitReady)
            await Eventually.TrueAsync(async () =>
                {
                    var health = await Http.GetAsync(Url + "/-/health");
                    using var doc = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync());
                    return health.IsSuccessStatusCode && doc.RootElement.GetProperty("httpCandidates").GetInt32() >= 2;
                }, TimeSpan.FromSeconds(15), "redirector loads the manifest and the mirrors");
    }

    /// <summary>Stops and disposes the running redirector (a restart is <see cref="StartRedirectorAsync"/> again).</summary>
    public async Task StopRedirectorAsync()
    {
        if (App is null)
            return;
        await App.StopAsync();
        await App.DisposeAsync();
        App = null;
    }

    public Task<HttpResponseMessage> GetAsync(string pathAndQuery, string? forwardedFor = null, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, Url + pathAndQuery);
        if (forwardedFor is not null)
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        return Http.SendAsync(request);
    }

    /// <summary>The value of an unlabelled metric on the redirector's <c>/-/metrics</c>.</summary>
    public async Task<double> MetricAsync(string name) =>
        PrometheusText.Parse(await Http.GetStringAsync(Url + "/-/metrics")).Single(s => s.Name == name).Value;

    public static string Escaped(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
        foreach (var h in _hosts)
            await h.DisposeAsync();
        Http.Dispose();
        Files.Dispose();
    }
}
