using System.Globalization;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Redis;
using Downloads.GeoData;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
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
    private WebApplication? _origin;

    public WebApplication App { get; private set; } = null!;
    public string Url { get; private set; } = "";
    public string PrivateKey { get; } = ManifestSigner.GenerateKeyPair().PrivateKey;
    public HttpClient Http { get; } = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };
    public static string PathOf(int i) => $"noobs/file-{i}.img";

    public static async Task<RedirectorRig> StartAsync(IDatabase db, string redisConfiguration, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null, params string[] extra)
    {
        var rig = new RedirectorRig();
        await rig.StartOriginAsync();
        await AddMirrorAsync(db, "lon", "http://lon.example", 51.5, -0.12, "GB");
        await AddMirrorAsync(db, "par", "http://par.example", 48.86, 2.35, "FR");
        var (city, asn) = SampleGeoDatabases.WriteAll(rig._dir.Path);
        var port = FreePort.Next();
        rig.Url = $"http://127.0.0.1:{port}";
        rig.App = RedirectorApp.Build([
            $"--urls={rig.Url}", $"--Redis:Configuration={redisConfiguration}",
            $"--Redirector:Origin=http://127.0.0.1:{rig._originPort}", $"--Redirector:PublicKey={ManifestSigner.PublicKeyOf(rig.PrivateKey)}",
            "--Redirector:MirrorRefreshSeconds=0.2", "--Redirector:CounterFlushSeconds=0.2", "--Health:Enabled=false",
            "--Logging:LogLevel:Default=Warning", $"--Geo:CityDatabase={city}", $"--Geo:AsnDatabase={asn}", .. extra], configure);
        await rig.App.StartAsync();
        await Eventually.TrueAsync(async () =>
        {
            using var health = await rig.Http.GetAsync(rig.Url + "/-/health");
            return health.IsSuccessStatusCode && (await health.Content.ReadAsStringAsync()).Contains("\"httpCandidates\":2", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(20), "redirector loads the manifest and both mirrors");
        return rig;
    }

    private int _originPort;

    /// <summary>What the stand-in origin serves now (manifest bytes, signature); replace to publish.</summary>
    public (byte[] Manifest, string Signature) Published { get; set; }

    /// <summary>The serial the redirector runs from, per its <c>/-/health</c>.</summary>
    public async Task<long> SerialAsync()
    {
        using var health = await Http.GetAsync(Url + "/-/health");
        using var doc = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("serial").GetInt64();
    }

    private async Task StartOriginAsync()
    {
        var files = new List<ManifestFile>();
        for (var i = 0; i < FileCount; i++)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));
            files.Add(new ManifestFile { Path = PathOf(i), Size = 1000 + i, Sha256 = sha, Chunks = [sha], ChangedAt = 1, Modified = DateTimeOffset.UnixEpoch });
        }
        var bytes = ManifestCodec.Serialize(new Manifest { Serial = 1, Published = DateTimeOffset.UtcNow, Files = files });
        Published = (bytes, ManifestSigner.Sign(bytes, PrivateKey));
        _originPort = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder([$"--urls=http://127.0.0.1:{_originPort}"]);
        builder.Logging.ClearProviders();
        _origin = builder.Build();
        _origin.MapGet(ManifestDefaults.ManifestPath, () => Results.Bytes(Published.Manifest, "application/json"));
        _origin.MapGet(ManifestDefaults.SignaturePath, () => Results.Text(Published.Signature));
        await _origin.StartAsync();
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
        if (_origin is not null)
            await _origin.DisposeAsync();
        Http.Dispose();
        _dir.Dispose();
    }
}
