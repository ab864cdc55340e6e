using System.Net;
using System.Net.Http.Json;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.EndToEnd.Tests.Hosting;
using Downloads.Mirror.Enrollment;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// The network with every link encrypted, as built processes: redis-server speaking only TLS, the origin and
/// the redirector on HTTPS, all with certificates of one private CA made in the test. The machine's trust
/// store is that CA (<c>SSL_CERT_FILE</c>, as a host that installed a CA would have it), Redis is trusted
/// through <c>Redis:CaCertificate</c>. A new mirror enrolls at the https redirector, syncs from the https
/// origin and reaches Redis over TLS.
/// </summary>
public sealed class TlsNetworkTests : IAsyncLifetime
{
    private const string FilePath = "noobs/NOOBS_tls.zip";
    private const string AdminToken = "tls-admin-token";
    private readonly TempDirectory _dir = new("tls-net");
    private readonly TestCertificateAuthority _ca = new("Downloads test CA");
    private readonly List<ServiceProcess> _services = [];
    private RedisServer _redis = null!;
    private string _caFile = "";
    private string _cert = "";
    private string _key = "";
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _caFile = _ca.WriteCertificate(_dir.Combine("ca.pem"));
        (_cert, _key) = _ca.IssueLoopback(_dir.Combine("server"));
        _redis = RedisServer.WithTls(_cert, _key, _caFile);
        var roots = RedisTls.LoadCa(_caFile);
        // The test's own client trusts exactly the test CA, with the services' own check.
        _http = new HttpClient(new HttpClientHandler
        {
            AllowAutoRedirect = false,
            ServerCertificateCustomValidationCallback = (_, certificate, chain, errors) => RedisTls.IsTrusted(certificate, chain, errors, roots),
        }) { Timeout = TimeSpan.FromSeconds(30) };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
            await service.DisposeAsync();
        _http?.Dispose();
        if (_redis is not null)
            await _redis.DisposeAsync();
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_mirror_enrolls_over_https_syncs_from_an_https_origin_and_reaches_redis_over_TLS()
    {
        var work = _dir.Combine("work");
        Directory.CreateDirectory(work);
        var root = _dir.Combine("origin-files");
        Directory.CreateDirectory(Path.Combine(root, "noobs"));
        var bytes = new byte[200_000];
        new Random(11).NextBytes(bytes);
        await File.WriteAllBytesAsync(Path.Combine(root, FilePath), bytes);
        var (privateKey, publicKey) = ManifestSigner.GenerateKeyPair();
        var redis = $"--Redis:Configuration={_redis.Endpoint},abortConnect=false";
        var trustRedis = $"--Redis:CaCertificate={_caFile}";
        string[] https = [$"--Kestrel:Certificates:Default:Path={_cert}", $"--Kestrel:Certificates:Default:KeyPath={_key}"];
        KeyValuePair<string, string>[] trust = [new("SSL_CERT_FILE", _caFile), new("SSL_CERT_DIR", _dir.Combine("no-system-cas"))];

        var origin = $"https://127.0.0.1:{FreePort.Next()}";
        var originProcess = Start("Downloads.Origin.dll", work, trust, [$"--urls={origin}", .. https, $"--Origin:Root={root}",
            $"--Origin:StateDir={_dir.Combine("origin-state")}", $"--Origin:PrivateKey={privateKey}", redis, trustRedis]);
        await UntilAsync(originProcess, $"{origin}{ManifestDefaults.ManifestPath}", HttpStatusCode.OK);

        var redirector = $"https://127.0.0.1:{FreePort.Next()}";
        var redirectorProcess = Start("Downloads.Redirector.dll", work, trust, [$"--urls={redirector}", .. https, redis, trustRedis,
            $"--Redirector:Origin={origin}", $"--Redirector:PublicKey={publicKey}", $"--Admin:Token={AdminToken}"]);
        // Any answer: HTTPS works (whether it is healthy yet is not this test's business).
        await UntilAsync(redirectorProcess, $"{redirector}/-/health", null);

        using var issue = new HttpRequestMessage(HttpMethod.Post, $"{redirector}/-/api/tokens") { Content = JsonContent.Create(new { lifetimeHours = 1 }) };
        issue.Headers.Authorization = new("Bearer", AdminToken);
        using var issued = await _http.SendAsync(issue);
        Assert.True(issued.IsSuccessStatusCode, $"token: {(int)issued.StatusCode} {await issued.Content.ReadAsStringAsync()}");
        var token = (await issued.Content.ReadFromJsonAsync<TokenAnswer>())!.Token;

        var mirror = $"http://127.0.0.1:{FreePort.Next()}";
        var data = Path.Combine(work, "mirror-data");
        var mirrorProcess = Start("Downloads.Mirror.dll", work, trust, [$"--urls={mirror}", "--Mirror:Id=tls1", $"--Mirror:DataDir={data}",
            $"--Mirror:Upstream={origin}", $"--Mirror:PublicKey={publicKey}", $"--Mirror:HttpUrl={mirror}", redis, trustRedis,
            $"--Enrollment:Token={token}", $"--Enrollment:Redirector={redirector}"]);

        // Synced over HTTPS: the mirror serves the origin's bytes.
        await UntilAsync(mirrorProcess, $"{mirror}/{FilePath}", HttpStatusCode.OK);
        Assert.Equal(bytes, await _http.GetByteArrayAsync($"{mirror}/{FilePath}"));
        // Enrolled over HTTPS: the redirector's answer (its own Redis user) is saved.
        var saved = SavedCredentials.Load(data);
        Assert.NotNull(saved);
        Assert.Equal("tls1", saved.Id);
        // And that user reaches the TLS-only Redis through the services' connection code.
        var config = RedisTls.Configure(new RedisOptions { Configuration = _redis.Endpoint, CaCertificate = _caFile });
        config.User = saved.User;
        config.Password = saved.Password;
        config.AbortOnConnectFail = false;
        await using var asMirror = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(config);
        await Eventually.TrueAsync(() => asMirror.IsConnected, TimeSpan.FromSeconds(15), "the mirror's user over TLS");
        Assert.True(config.Ssl);
    }

    private sealed record TokenAnswer(string Token);

    private ServiceProcess Start(string assembly, string work, IEnumerable<KeyValuePair<string, string>> environment, string[] args)
    {
        var service = ServiceProcess.StartWithEnvironment(assembly, work, environment, args);
        _services.Add(service);
        return service;
    }

    private async Task UntilAsync(ServiceProcess service, string url, HttpStatusCode? expected)
    {
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    using var response = await _http.GetAsync(url);
                    return expected is null || response.StatusCode == expected;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), $"{url} answers {(expected is null ? "at all" : ((int)expected).ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; service output:\n{service.Output}", e);
        }
    }
}
