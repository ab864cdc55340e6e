using System.Text.Json;
using Downloads.Contracts.Manifests;
using Downloads.GeoData;
using Downloads.Mirror;
using Downloads.Origin;
using Downloads.Redirector;
using Downloads.Redirector.Membership;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Downloads.EndToEnd.Tests.Ops;

/// <summary>
/// A whole running network on loopback for the ops tests: a real redis-server, the real origin
/// publishing a signed manifest of generated files, two real mirrors (London, Stockholm) that sync
/// from it, serve and report every 250 ms, and the real redirector with the dashboard and admin token.
/// </summary>
public sealed class OpsNetwork : IAsyncLifetime
{
    public const string Token = "e2e-ops-token";
    public const string BigFile = "os/big.img";
    public const int BigSize = 24 * 1024 * 1024;

    private readonly TempDirectory _dir = new("ops-e2e");

    public RedisServer Redis { get; } = new();
    public ServiceHost Origin { get; private set; } = null!;
    public ServiceHost Redirector { get; private set; } = null!;
    public List<ServiceHost> Mirrors { get; } = [];
    public HttpClient Http { get; } = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        var root = _dir.Combine("origin-root");
        Directory.CreateDirectory(Path.Combine(root, "os"));
        Directory.CreateDirectory(Path.Combine(root, "noobs"));
        var bytes = new byte[BigSize];
        new Random(42).NextBytes(bytes);
        await File.WriteAllBytesAsync(Path.Combine(root, "os", "big.img"), bytes);
        await File.WriteAllTextAsync(Path.Combine(root, "noobs", "README.txt"), "NOOBS\n");
        var (privateKey, publicKey) = ManifestSigner.GenerateKeyPair();
        var (city, asn) = SampleGeoDatabases.WriteAll(_dir.Path);
        var redis = $"--Redis:Configuration={Redis.Configuration}";
        const string quiet = "--Logging:LogLevel:Default=Warning";

        Origin = new ServiceHost("origin", FreePort.Next(), OriginApp.Build,
            $"--Origin:Root={root}", $"--Origin:StateDir={_dir.Combine("origin-state")}", $"--Origin:PrivateKey={privateKey}", redis, quiet);
        await Origin.StartAsync();

        var redirectorArgs = new RedirectorArgs
        {
            Redis = Redis.Configuration, Origin = Origin.BaseUrl, PublicKey = publicKey, CityDatabase = city, AsnDatabase = asn,
            MirrorRefreshSeconds = 0.25, CounterFlushSeconds = 0.25,
            // Active probes fetch whole 4 MiB chunks: off here so the only traffic on the chart is the test's download.
            HealthChecks = false,
        };
        Redirector = new ServiceHost("redirector", FreePort.Next(), RedirectorApp.Build,
            redirectorArgs.Build($"--Admin:Token={Token}", "--Ops:SampleSeconds=0.5"));
        await Redirector.StartAsync();

        foreach (var (id, lat, lon, country) in new[] { ("m-lon", 51.5, -0.12, "GB"), ("m-sto", 59.33, 18.07, "SE") })
        {
            var port = FreePort.Next();
            var mirror = new ServiceHost(id, port, MirrorApp.Build,
                $"--Mirror:Id={id}", $"--Mirror:DataDir={_dir.Combine(id)}", $"--Mirror:Upstream={Origin.BaseUrl}",
                $"--Mirror:PublicKey={publicKey}", $"--Mirror:HttpUrl=http://127.0.0.1:{port}", $"--Mirror:Latitude={lat}",
                $"--Mirror:Longitude={lon}", $"--Mirror:Country={country}", "--Mirror:Continent=EU", "--Mirror:CapacityMbps=400",
                "--Mirror:QuotaTB=1", "--Reporting:Interval=00:00:00.250",
                // Fast reports for a lively chart, but a heartbeat that survives a loaded test machine.
                "--Reporting:HeartbeatTtl=00:00:30", "--Sync:PollInterval=00:00:01", redis, quiet);
            await mirror.StartAsync();
            Mirrors.Add(mirror);
        }

        // A mirror that registers itself is pending until ops approve it.
        var membership = Redirector.Services.GetRequiredService<MembershipService>();
        await Eventually.TrueAsync(async () => (await membership.ListAsync()).Count == 2, TimeSpan.FromSeconds(20), "both mirrors register");
        foreach (var m in Mirrors)
            Assert.True((await membership.ApproveAsync(m.Name)).Ok);
        await Eventually.TrueAsync(async () => (await membership.ListAsync()).All(m => m.Serial >= 1), TimeSpan.FromSeconds(60),
            "both mirrors synced the first serial");
        await Eventually.TrueAsync(async () =>
        {
            using var health = await Http.GetAsync(Redirector.BaseUrl + "/-/health");
            using var doc = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
            return health.IsSuccessStatusCode && doc.RootElement.GetProperty("httpCandidates").GetInt32() == 2;
        }, TimeSpan.FromSeconds(60), "the redirector has the manifest and both mirrors as candidates");
    }

    public async Task DisposeAsync()
    {
        foreach (var m in Mirrors)
            await m.DisposeAsync();
        if (Redirector is not null)
            await Redirector.DisposeAsync();
        if (Origin is not null)
            await Origin.DisposeAsync();
        Http.Dispose();
        Redis.Dispose();
        _dir.Dispose();
    }
}
