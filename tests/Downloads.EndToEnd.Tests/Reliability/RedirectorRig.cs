using System.Globalization;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Redis;
using Downloads.GeoData;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using StackExchange.Redis;

namespace Downloads.EndToEnd.Tests.Reliability;

/// <summary>
/// The real redirector app on a loopback port, a stand-in origin serving a signed manifest of
/// <see cref="FileCount"/> files, sample geo databases, and mirror records written through the real
/// <see cref="MirrorStore"/> into whatever Redis the test gives (a plain server or a Sentinel group).
/// Health probes are off: these tests are about the redirector, not the mirrors' bytes.
/// </summary>
internal sealed class RedirectorRig : IAsyncDisposable
{
    public const int FileCount = 4;
    public const string London = "81.2.69.142";

    private readonly TempDirectory _dir = new("rig");

    public WebApplication App { get; private set; } = null!;
    public string Url { get; private set; } = "";
    public string PrivateKey { get; } = ManifestSigner.GenerateKeyPair().PrivateKey;
    public HttpClient Http { get; } = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };
    public static string PathOf(int i) => $"noobs/file-{i}.img";

    public static async Task<RedirectorRig> StartAsync(IDatabase db, string redisConfiguration, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null, params string[] extra)
    {
        var rig = new RedirectorRig();
        rig.Origin = await StaticHost.StartAsync();
        rig.Origin.Publish(FirstManifest(), rig.PrivateKey);
        await AddMirrorAsync(db, "lon", "http://lon.example", 51.5, -0.12, "GB");
        await AddMirrorAsync(db, "par", "http://par.example", 48.86, 2.35, "FR");
        var (city, asn) = SampleGeoDatabases.WriteAll(rig._dir.Path);
        rig.Url = $"http://127.0.0.1:{FreePort.Next()}";
        var args = new RedirectorArgs
        {
            Url = rig.Url, Redis = redisConfiguration, Origin = rig.Origin.Url, PublicKey = ManifestSigner.PublicKeyOf(rig.PrivateKey),
            CityDatabase = city, AsnDatabase = asn, HealthChecks = false,
        };
        rig.App = RedirectorApp.Build(args.Build(extra), configure);
        await rig.App.StartAsync();
        await Eventually.TrueAsync(async () =>
        {
            using var health = await rig.Http.GetAsync(rig.Url + "/-/health");
            return health.IsSuccessStatusCode && (await health.Content.ReadAsStringAsync()).Contains("\"httpCandidates\":2", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(20), "redirector loads the manifest and both mirrors");
        return rig;
    }

    /// <summary>The stand-in origin: serves the signed manifest of <see cref="FileCount"/> files; publish to replace it.</summary>
    public StaticHost Origin { get; private set; } = null!;

    /// <summary>The serial the redirector runs from, per its <c>/-/health</c>.</summary>
    public async Task<long> SerialAsync()
    {
        using var health = await Http.GetAsync(Url + "/-/health");
        using var doc = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("serial").GetInt64();
    }

    private static Manifest FirstManifest()
    {
        var files = new List<ManifestFile>();
        for (var i = 0; i < FileCount; i++)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));
            files.Add(new ManifestFile { Path = PathOf(i), Size = 1000 + i, Sha256 = sha, Chunks = [sha], ChangedAt = 1, Modified = DateTimeOffset.UnixEpoch });
        }
        return new Manifest { Serial = 1, Published = DateTimeOffset.UtcNow, Expires = DateTimeOffset.UtcNow.AddDays(7), Files = files };
    }

    public static Task AddMirrorAsync(IDatabase db, string id, string url, double lat, double lon, string country) =>
        TestMirrors.AddApprovedAsync(db, id, url, lat, lon, country, "EU", serial: 1);

    public Task<HttpResponseMessage> GetAsync(string pathAndQuery, string? forwardedFor = London)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, Url + pathAndQuery);
        if (forwardedFor is not null)
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        return Http.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        if (Origin is not null)
            await Origin.DisposeAsync();
        Http.Dispose();
        _dir.Dispose();
    }
}
