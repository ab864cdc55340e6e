using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Downloads.Contracts.Manifests;
using Downloads.Mirror;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Sync;
using Downloads.Origin;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// A secret launch over the whole network with the origin on a fake clock: before the time no public endpoint of the
/// origin, a mirror or the redirector shows the staged file's name, size, hash or bytes; at the time the UK mirror,
/// which prefetched the ciphertext, decrypts it without a download and takes the redirects, while the Swedish mirror
/// (no disk room to stage, a slow link) has not finished and is skipped like a stale one. The moment between the
/// redirector reading the new manifest and the UK mirror's report of the serial: <see cref="StagedReleaseFirstSecondsTests"/>.
/// </summary>
public sealed partial class StagedLaunchTests : IAsyncLifetime
{
    private const string AdminToken = "e2e-admin";
    private const string London = "81.2.69.142";
    private const string Linkoping = "89.160.20.112";
    private const string Public = "noobs/NOOBS_e2e.zip";
    private const string Secret = "os/zz-secret-launch-2027.img";
    private const int SecretSize = 300_007;
    private static readonly DateTimeOffset ReleaseAt = new(2027, 2, 2, 9, 0, 0, TimeSpan.Zero);

    private readonly RedisServer _redis = new();
    private readonly TempDirectory _dir = new("e2e-staged");
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<ServiceHost> _hosts = [];
    private string[] _originConfig = [];
    private ServiceHost _origin = null!;
    private ServiceHost _redirector = null!;
    private ServiceHost _uk = null!;
    private ServiceHost _se = null!;

    public async Task InitializeAsync()
    {
        var root = _dir.Combine("origin-files");
        Directory.CreateDirectory(Path.Combine(root, "noobs"));
        await File.WriteAllBytesAsync(Path.Combine(root, Public), new byte[2000]);
        var (privateKey, publicKey) = ManifestSigner.GenerateKeyPair();
        _originConfig = [$"--Origin:Root={root}", $"--Origin:StateDir={_dir.Combine("origin-state")}", $"--Origin:PrivateKey={privateKey}",
            "--Origin:ChunkSize=65536", $"--Redis:Configuration={_redis.Configuration}"];
        _origin = Add(new ServiceHost("origin", FreePort.Next(), args => OriginApp.Build(args, _clock), [.. _originConfig, "--Logging:LogLevel:Default=Warning"]));
        await _origin.StartAsync();
        _redirector = Add(new ServiceHost("redirector", FreePort.Next(), RedirectorApp.Build,
            $"--Redis:Configuration={_redis.Configuration}", $"--Redirector:Origin={_origin.BaseUrl}", $"--Redirector:PublicKey={publicKey}",
            "--Redirector:MirrorRefreshSeconds=0.5", "--Geo:UseSampleDatabases=true", $"--Admin:Token={AdminToken}",
            $"--Health:AllowedNetworks={RedirectorArgs.ProbeAllowedNetworks}", "--Logging:LogLevel:Default=Warning"));
        await _redirector.StartAsync();
        _uk = await StartMirrorAsync("uk-cam", 52.2053, 0.1218, "GB", publicKey, "--Staging:MinFreeBytes=0");
        // No room to stage and a 4 kB/s link: at the release it has to download the file and is still at it.
        _se = await StartMirrorAsync("se-sto", 59.3293, 18.0686, "SE", publicKey, $"--Staging:MinFreeBytes={1L << 60}", "--Sync:BandwidthBytesPerSecond=4000");
    }

    private async Task<ServiceHost> StartMirrorAsync(string id, double lat, double lon, string country, string publicKey, params string[] extra)
    {
        var token = await AdminAsync(HttpMethod.Post, "/-/api/tokens", "{}");
        var tokenValue = System.Text.Json.JsonDocument.Parse(token).RootElement.GetProperty("token").GetString();
        var port = FreePort.Next();
        var host = Add(new ServiceHost(id, port, MirrorApp.Build,
        [
            $"--Mirror:Id={id}", $"--Mirror:DataDir={_dir.Combine(id)}", $"--Mirror:Upstream={_origin.BaseUrl}",
            $"--Mirror:PublicKey={publicKey}", $"--Mirror:HttpUrl=http://127.0.0.1:{port}",
            FormattableString.Invariant($"--Mirror:Latitude={lat}"), FormattableString.Invariant($"--Mirror:Longitude={lon}"),
            $"--Mirror:Country={country}", "--Mirror:Continent=EU", "--Mirror:CapacityMbps=1000",
            $"--Enrollment:Token={tokenValue}", $"--Enrollment:Redirector={_redirector.BaseUrl}",
            $"--Redis:Configuration={_redis.Configuration}", "--Reporting:Interval=00:00:00.500", "--Sync:PollInterval=00:00:01",
            "--Staging:PollInterval=00:00:00.300", "--Logging:LogLevel:Default=Warning", .. extra,
        ]));
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
    public async Task Nothing_leaks_before_the_time_and_at_it_redirects_go_to_the_mirror_that_holds_the_file()
    {
        await Eventually.TrueAsync(async () => (await RedirectAsync(Public, London))?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror");
        await Eventually.TrueAsync(async () => (await RedirectAsync(Public, Linkoping))?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "Linköping client redirected to the Swedish mirror");

        var secret = RandomNumberGenerator.GetBytes(SecretSize);
        var source = _dir.Combine("secret.img");
        await File.WriteAllBytesAsync(source, secret);
        var sha = Convert.ToHexStringLower(SHA256.HashData(secret));
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.True(0 == await OriginCommands.RunAsync(["stage", source, "--as", Secret, "--release-at", "2027-02-02T09:00:00Z", .. _originConfig], output, error, _clock), error.ToString());
        var id = output.ToString().Split(' ')[1];
        var ukStaged = _uk.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => ukStaged.Held.Contains(id), TimeSpan.FromSeconds(60), $"UK mirror holds the ciphertext ({ukStaged.LastError})");
        var seStaged = _se.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => seStaged.ShortfallBytes > 0, TimeSpan.FromSeconds(60), "Swedish mirror reports its disk shortfall");

        // Ops see the coverage: the UK mirror reports the opaque id in its state; one of two EU mirrors, half the capacity.
        await Eventually.TrueAsync(async () => (await _redis.Admin.GetDatabase().HashGetAsync(Contracts.Redis.Keyspace.MirrorState("uk-cam"), Contracts.Redis.Keyspace.StateFields.Staged)) == id,
            TimeSpan.FromSeconds(30), "UK mirror reports the staged id");
        var coverage = System.Text.Json.JsonDocument.Parse(await AdminAsync(HttpMethod.Get, "/-/api/staging?expected=EU:0.8", null)).RootElement;
        var eu = coverage.EnumerateArray().Single(f => f.GetProperty("id").GetString() == id).GetProperty("regions").EnumerateArray().Single();
        Assert.Equal(("EU", 2, 1, 0.5, "go"), (eu.GetProperty("region").GetString(), eu.GetProperty("mirrors").GetInt32(), eu.GetProperty("holding").GetInt32(),
            eu.GetProperty("capacityShare").GetDouble(), eu.GetProperty("verdict").GetString()));

        // Before the time: every public endpoint, listing, error and metric, of every service.
        string[] secrets = [Secret, "zz-secret", sha, SecretSize.ToString(CultureInfo.InvariantCulture)];
        var probes = new List<string>();
        foreach (var service in new[] { _origin, _uk, _se, _redirector })
        {
            foreach (var path in new[] { "/" + Secret, "/" + Secret + ".meta4", "/" + Secret + "?mirrorlist", "/" + Secret + "?json", "/" + Secret + "?metalink",
                "/os/", "/os/SHA256SUMS", "/-/metrics", "/-/health", "/-/manifest.json", "/-/staging.json" })
                probes.Add(service.BaseUrl + path);
        }
        foreach (var url in probes)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", London);
            using var response = await _http.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.Found, response.StatusCode);
            var body = Echo().Replace(await response.Content.ReadAsStringAsync(), "");
            var headers = response.Headers.ToString() + response.Content.Headers;
            foreach (var s in secrets)
            {
                Assert.False(body.Contains(s, StringComparison.Ordinal), $"{url} shows '{s}' before the release: {body[..Math.Min(body.Length, 300)]}");
                Assert.False(headers.Contains(s, StringComparison.Ordinal), $"{url} headers show '{s}' before the release");
            }
        }
        using (var ops = new HttpRequestMessage(HttpMethod.Get, $"{_redirector.BaseUrl}/-/ops"))
        {
            ops.Headers.Authorization = new("Bearer", AdminToken);
            using var response = await _http.SendAsync(ops);
            var body = await response.Content.ReadAsStringAsync();
            foreach (var s in secrets[..3])
                Assert.DoesNotContain(s, body, StringComparison.Ordinal);
        }

        // The time comes: the UK mirror decrypts what it holds; nothing is downloaded.
        var ukFetched = _uk.Services.GetRequiredService<SyncStatus>().BytesFetched;
        _clock.SetUtcNow(ReleaseAt);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await RedirectAsync(Secret, London))?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror for the released file");
        Assert.Equal(ukFetched, _uk.Services.GetRequiredService<SyncStatus>().BytesFetched);
        Assert.Equal(secret, await _http.GetByteArrayAsync($"{_uk.BaseUrl}/{Secret}"));

        // The Swedish mirror is still downloading: Linköping is sent to the UK mirror, not to it and not to the origin.
        for (var i = 0; i < 20; i++)
        {
            var location = await RedirectAsync(Secret, Linkoping);
            Assert.NotNull(location);
            Assert.StartsWith(_uk.BaseUrl, location, StringComparison.Ordinal);
        }
        Assert.Equal(ukFetched, _uk.Services.GetRequiredService<SyncStatus>().BytesFetched);
    }

    // A 404 or mirror list may quote the request's own path back; that is the client's input, not a leak.
    [GeneratedRegex(@"os/zz-secret-launch-2027\.img(\.meta4)?")]
    private static partial Regex Echo();

    private ServiceHost Add(ServiceHost host)
    {
        _hosts.Add(host);
        return host;
    }

    private async Task<string?> RedirectAsync(string path, string clientAddress)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_redirector.BaseUrl}/{path}");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", clientAddress);
        using var response = await _http.SendAsync(request);
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
}
