using System.Net;
using System.Text.Json;
using Downloads.Contracts.Manifests;
using Downloads.Mirror;
using Downloads.Origin;
using Downloads.Redirector;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// The network on loopback the way the end-to-end tests start it: a real redis-server, then the origin (publishing
/// <see cref="Root"/> with a fresh key pair), then the redirector (sample geo databases, admin token), then mirrors,
/// each enrolled with a one-time token from the admin API and approved. Every service writes only its own folder in
/// one temporary directory; teardown is in reverse start order, then the client, Redis and the directory.
/// </summary>
public sealed class TestNetworkRig : IAsyncDisposable
{
    public const string AdminToken = "e2e-admin";
    public const string London = "81.2.69.142";
    public const string Linkoping = "89.160.20.112";
    public const string Quiet = "--Logging:LogLevel:Default=Warning";

    private readonly List<ServiceHost> _hosts = [];

    public TestNetworkRig(string name, TimeSpan? httpTimeout = null)
    {
        Dir = new TempDirectory(name);
        Http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = httpTimeout ?? TimeSpan.FromSeconds(30) };
        RedisConfiguration = Redis.Configuration;
        (PrivateKey, PublicKey) = ManifestSigner.GenerateKeyPair();
    }

    public RedisServer Redis { get; } = new();
    public TempDirectory Dir { get; }
    public HttpClient Http { get; }
    public string PrivateKey { get; }
    public string PublicKey { get; }

    /// <summary>What the origin publishes.</summary>
    public string Root => Dir.Combine("origin-files");

    /// <summary>What the origin and the redirector connect to Redis with; set it before starting them to use another user.</summary>
    public string RedisConfiguration { get; set; }

    /// <summary>The origin's configuration (without logging), for running its commands against the same state.</summary>
    public string[] OriginConfig { get; private set; } = [];

    public ServiceHost Origin { get; private set; } = null!;
    public ServiceHost Redirector { get; private set; } = null!;

    /// <summary>Writes a file into the origin's tree (before the origin starts, or as a new file it picks up).</summary>
    public async Task WriteOriginFileAsync(string relative, byte[] bytes)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, bytes);
    }

    /// <summary>Starts the origin on <paramref name="clock"/> (the system clock when null) with <paramref name="extra"/> settings.</summary>
    public async Task StartOriginAsync(TimeProvider? clock, params string[] extra)
    {
        OriginConfig = [$"--Origin:Root={Root}", $"--Origin:StateDir={Dir.Combine("origin-state")}", $"--Origin:PrivateKey={PrivateKey}",
            $"--Redis:Configuration={RedisConfiguration}", .. extra];
        Origin = Add(new ServiceHost("origin", FreePort.Next(), args => OriginApp.Build(args, clock), [.. OriginConfig, Quiet]));
        await Origin.StartAsync();
    }

    public async Task StartRedirectorAsync(params string[] extra)
    {
        Redirector = Add(new ServiceHost("redirector", FreePort.Next(), RedirectorApp.Build,
        [
            $"--Redis:Configuration={RedisConfiguration}", $"--Redirector:Origin={Origin.BaseUrl}", $"--Redirector:PublicKey={PublicKey}",
            "--Redirector:MirrorRefreshSeconds=0.5", "--Geo:UseSampleDatabases=true", $"--Admin:Token={AdminToken}",
            $"--Health:AllowedNetworks={RedirectorArgs.ProbeAllowedNetworks}", .. extra, Quiet,
        ]));
        await Redirector.StartAsync();
    }

    /// <summary>Starts an in-process mirror in Europe syncing from the origin, enrolled with a fresh token and approved.</summary>
    public async Task<ServiceHost> StartMirrorAsync(string id, double lat, double lon, string country, params string[] extra)
    {
        var token = await EnrollmentTokenAsync();
        var port = FreePort.Next();
        var host = Add(new ServiceHost(id, port, MirrorApp.Build,
        [
            $"--Mirror:Id={id}", $"--Mirror:DataDir={Dir.Combine(id)}", $"--Mirror:Upstream={Origin.BaseUrl}",
            $"--Mirror:PublicKey={PublicKey}", $"--Mirror:HttpUrl=http://127.0.0.1:{port}",
            FormattableString.Invariant($"--Mirror:Latitude={lat}"), FormattableString.Invariant($"--Mirror:Longitude={lon}"),
            $"--Mirror:Country={country}", "--Mirror:Continent=EU", "--Mirror:CapacityMbps=1000",
            $"--Enrollment:Token={token}", $"--Enrollment:Redirector={Redirector.BaseUrl}",
            $"--Redis:Configuration={RedisConfiguration}", "--Reporting:Interval=00:00:00.500", "--Sync:PollInterval=00:00:01",
            .. extra, Quiet,
        ]));
        await host.StartAsync();
        await AdminAsync(HttpMethod.Post, $"/-/api/mirrors/{id}/approve", null);
        return host;
    }

    /// <summary>A one-time enrollment token from the admin API.</summary>
    public async Task<string> EnrollmentTokenAsync() =>
        JsonDocument.Parse(await AdminAsync(HttpMethod.Post, "/-/api/tokens", "{}")).RootElement.GetProperty("token").GetString()!;

    /// <summary>An admin API call with the token; fails the test on any answer but 2xx.</summary>
    public async Task<string> AdminAsync(HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, $"{Redirector.BaseUrl}{path}");
        request.Headers.Authorization = new("Bearer", AdminToken);
        if (json is not null)
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>The origin's signed manifest, as a mirror reads it.</summary>
    public async Task<Manifest> ManifestAsync()
    {
        var bytes = await Http.GetByteArrayAsync($"{Origin.BaseUrl}{ManifestDefaults.ManifestPath}");
        return ManifestCodec.TryParse(bytes, out var error) ?? throw new InvalidOperationException(error);
    }

    /// <summary>A GET to the redirector as a client at <paramref name="clientAddress"/> (behind the trusted proxy).</summary>
    public async Task<HttpResponseMessage> SendAsync(string pathAndQuery, string clientAddress)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Redirector.BaseUrl}{pathAndQuery}");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", clientAddress);
        return await Http.SendAsync(request);
    }

    /// <summary>The redirector's status for <paramref name="path"/>, and the Location when it is a 302.</summary>
    public async Task<(HttpStatusCode Status, string? Location)> AnswerAsync(string path, string clientAddress)
    {
        using var response = await SendAsync("/" + path, clientAddress);
        return (response.StatusCode, response.StatusCode == HttpStatusCode.Found ? response.Headers.Location?.ToString() : null);
    }

    /// <summary>The Location of a 302, or null for any other answer.</summary>
    public async Task<string?> RedirectAsync(string path, string clientAddress) => (await AnswerAsync(path, clientAddress)).Location;

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var host in Enumerable.Reverse(_hosts))
                await host.DisposeAsync();
        }
        finally
        {
            Http.Dispose();
            Redis.Dispose();
            Dir.Dispose();
        }
    }

    private ServiceHost Add(ServiceHost host)
    {
        _hosts.Add(host);
        return host;
    }
}
