using System.Net;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Mirror;
using Downloads.Origin;
using Downloads.Redirector;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// The whole network over real sockets: real redis-server, the origin, two mirrors (Cambridge UK and
/// Stockholm) enrolled with one-time tokens and approved through the admin API, and the redirector
/// reading generated GeoIP2-schema databases.
/// </summary>
public sealed class WalkingSkeletonTests : IAsyncLifetime
{
    private const string AdminToken = "e2e-admin";
    private const string London = "81.2.69.142";
    private const string Linkoping = "89.160.20.112";
    private const string File1 = "noobs/NOOBS_e2e.zip";

    private readonly RedisServer _redis = new();
    private readonly TempDirectory _dir = new("e2e");
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly List<ServiceHost> _hosts = [];
    private ServiceHost _origin = null!;
    private ServiceHost _redirector = null!;
    private ServiceHost _uk = null!;
    private ServiceHost _se = null!;

    public async Task InitializeAsync()
    {
        var root = _dir.Combine("origin-files");
        WriteFile(root, File1, 700_000, seed: 1);
        WriteFile(root, "os/raspios-e2e.img.xz", 300_000, seed: 2);
        WriteFile(root, "rachel/rachel-e2e.zip", 200_000, seed: 3);
        var (privateKey, publicKey) = ManifestSigner.GenerateKeyPair();
        var quiet = "--Logging:LogLevel:Default=Warning";

        _origin = Add(new ServiceHost("origin", FreePort.Next(), OriginApp.Build,
            $"--Origin:Root={root}", $"--Origin:StateDir={_dir.Combine("origin-state")}", $"--Origin:PrivateKey={privateKey}",
            "--Origin:ChunkSize=65536", $"--Redis:Configuration={_redis.Configuration}", quiet));
        await _origin.StartAsync();

        _redirector = Add(new ServiceHost("redirector", FreePort.Next(), RedirectorApp.Build,
            $"--Redis:Configuration={_redis.Configuration}", $"--Redirector:Origin={_origin.BaseUrl}", $"--Redirector:PublicKey={publicKey}",
            "--Redirector:MirrorRefreshSeconds=0.5", "--Geo:UseSampleDatabases=true", $"--Admin:Token={AdminToken}",
            $"--Health:AllowedNetworks={RedirectorArgs.ProbeAllowedNetworks}", quiet));
        await _redirector.StartAsync();

        _uk = await StartMirrorAsync("uk-cam", 52.2053, 0.1218, "GB", "EU", publicKey);
        _se = await StartMirrorAsync("se-sto", 59.3293, 18.0686, "SE", "EU", publicKey);
    }

    private async Task<ServiceHost> StartMirrorAsync(string id, double lat, double lon, string country, string continent, string publicKey)
    {
        var token = await AdminAsync(HttpMethod.Post, "/-/api/tokens", "{}");
        var tokenValue = System.Text.Json.JsonDocument.Parse(token).RootElement.GetProperty("token").GetString();
        var port = FreePort.Next();
        var host = Add(new ServiceHost(id, port, MirrorApp.Build,
            $"--Mirror:Id={id}", $"--Mirror:DataDir={_dir.Combine(id)}", $"--Mirror:Upstream={_origin.BaseUrl}",
            $"--Mirror:PublicKey={publicKey}", $"--Mirror:HttpUrl=http://127.0.0.1:{port}",
            FormattableString.Invariant($"--Mirror:Latitude={lat}"), FormattableString.Invariant($"--Mirror:Longitude={lon}"),
            $"--Mirror:Country={country}", $"--Mirror:Continent={continent}", "--Mirror:CapacityMbps=1000",
            $"--Enrollment:Token={tokenValue}", $"--Enrollment:Redirector={_redirector.BaseUrl}",
            $"--Redis:Configuration={_redis.Configuration}", "--Reporting:Interval=00:00:00.500", "--Sync:PollInterval=00:00:01",
            "--Logging:LogLevel:Default=Warning"));
        await host.StartAsync();
        await AdminAsync(HttpMethod.Post, $"/-/api/mirrors/{id}/approve", null);
        return host;
    }

    public async Task DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
            await host.DisposeAsync();
        _http.Dispose();
        _redis.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Client_in_London_is_sent_to_the_UK_mirror_gets_the_manifest_bytes_and_is_sent_elsewhere_once_that_mirror_dies()
    {
        var manifest = await ManifestAsync();
        var entry = manifest.Files.Single(f => f.Path == File1);

        // Mirrors sync, report and get approved in the background: until then the origin answers.
        await Eventually.TrueAsync(async () => (await RedirectAsync(File1, London))?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror");
        var location = await RedirectAsync(File1, London);
        Assert.Equal($"{_uk.BaseUrl}/{File1}", location);

        var bytes = await _http.GetByteArrayAsync(location);
        Assert.Equal(entry.Size, bytes.Length);
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));

        // The nearest mirror for Linköping is Stockholm.
        await Eventually.TrueAsync(async () => (await RedirectAsync(File1, Linkoping))?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), "Linköping client redirected to the Swedish mirror");

        // The UK mirror dies: once its heartbeat expires, London goes to Stockholm.
        await _uk.StopAsync();
        await Eventually.TrueAsync(async () => (await RedirectAsync(File1, London))?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), "London client redirected to Stockholm after the UK mirror died");
        var fallbackBytes = await _http.GetByteArrayAsync(await RedirectAsync(File1, London));
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(fallbackBytes)));
    }

    [Fact]
    public async Task Unknown_path_is_404_and_a_traversal_attempt_is_refused()
    {
        await ManifestAsync();
        await Eventually.TrueAsync(async () => await RedirectAsync(File1, London) is not null, TimeSpan.FromSeconds(30), "redirector has the manifest");

        using var unknown = await SendAsync("/noobs/not-there.zip", London);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var traversal = await SendAsync("/noobs/..%2f..%2fetc/passwd", London);
        Assert.True(traversal.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"got {traversal.StatusCode}");
    }

    private ServiceHost Add(ServiceHost host)
    {
        _hosts.Add(host);
        return host;
    }

    private async Task<Manifest> ManifestAsync()
    {
        var bytes = await _http.GetByteArrayAsync($"{_origin.BaseUrl}{ManifestDefaults.ManifestPath}");
        return ManifestCodec.TryParse(bytes, out var error) ?? throw new InvalidOperationException(error);
    }

    private async Task<HttpResponseMessage> SendAsync(string pathAndQuery, string clientAddress)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_redirector.BaseUrl}{pathAndQuery}");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", clientAddress);
        return await _http.SendAsync(request);
    }

    /// <summary>The Location of a 302, or null for any other answer.</summary>
    private async Task<string?> RedirectAsync(string path, string clientAddress)
    {
        using var response = await SendAsync("/" + path, clientAddress);
        return response.StatusCode == HttpStatusCode.Found ? response.Headers.Location?.ToString() : null;
    }

    private async Task<string> AdminAsync(HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, $"{_redirector.BaseUrl}{path}");
        request.Headers.Authorization = new("Bearer", AdminToken);
        if (json is not null)
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private static void WriteFile(string root, string relative, int size, int seed)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
    }
}
