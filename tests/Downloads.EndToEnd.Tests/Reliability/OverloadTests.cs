using System.Net;
using System.Net.Sockets;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.Extensions.Options;

namespace Downloads.EndToEnd.Tests.Reliability;

/// <summary>Overload protection of the redirector over a real socket: per-client rate limit and Kestrel's request limits.</summary>
public sealed class OverloadTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string Path = "/noobs/file-0.img";

    private async Task<RedirectorRig> RigAsync(params string[] extra)
    {
        await redis.FlushAsync();
        return await RedirectorRig.StartAsync(redis.Admin.GetDatabase(), redis.Configuration, null, extra);
    }

    private static async Task<(int Found, int Limited)> BurstAsync(RedirectorRig rig, int count, Func<int, string> forwardedFor)
    {
        var found = 0;
        var limited = 0;
        for (var i = 0; i < count; i++)
        {
            using var response = await rig.GetAsync(Path, forwardedFor(i));
            if (response.StatusCode == HttpStatusCode.Found)
                found++;
            else if (response.StatusCode == HttpStatusCode.TooManyRequests)
                limited++;
        }
        return (found, limited);
    }

    [Fact]
    public async Task A_client_over_its_rate_gets_429_with_Retry_After_while_other_clients_and_health_are_served()
    {
        await using var rig = await RigAsync("--RateLimit:PermitsPerSecond=0.5", "--RateLimit:Burst=5");
        Assert.Equal((5, 5), await BurstAsync(rig, 10, _ => RedirectorRig.London));

        using var refused = await rig.GetAsync(Path, RedirectorRig.London);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        Assert.Contains("too many requests", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var neighbour = await rig.GetAsync(Path, "81.2.69.143");
        Assert.Equal(HttpStatusCode.Found, neighbour.StatusCode);
        for (var i = 0; i < 20; i++)
        {
            using var health = await rig.GetAsync("/-/health", RedirectorRig.London);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // Every refusal is counted for the shedding alert (ops/prometheus/rules/downloads-alerts.yml).
        var metrics = PrometheusText.Parse(await rig.Http.GetStringAsync(rig.Url + "/-/metrics"));
        Assert.Equal(6, metrics.Single(s => s.Name == "downloads_rate_limited_total").Value);
    }

    [Fact]
    public async Task Forwarded_for_from_an_untrusted_socket_does_not_escape_the_limit()
    {
        // Loopback is not trusted here, so every X-Forwarded-For below is a spoof and the socket is the client.
        await using var rig = await RigAsync("--Redirector:TrustedProxies=10.0.0.0/8", "--RateLimit:PermitsPerSecond=0.5", "--RateLimit:Burst=3");
        Assert.Equal((3, 7), await BurstAsync(rig, 10, i => $"81.2.69.{i + 1}"));
    }

    [Fact]
    public async Task Clients_behind_the_trusted_proxy_each_get_their_own_budget()
    {
        await using var rig = await RigAsync("--RateLimit:PermitsPerSecond=0.5", "--RateLimit:Burst=2");
        Assert.Equal((40, 0), await BurstAsync(rig, 40, i => $"81.2.69.{i + 1}"));
    }

    [Fact]
    public async Task With_the_limit_off_nothing_is_refused()
    {
        await using var rig = await RigAsync("--RateLimit:Enabled=false", "--RateLimit:Burst=1");
        Assert.Equal((300, 0), await BurstAsync(rig, 300, _ => RedirectorRig.London));
    }

    [Fact]
    public async Task Oversized_headers_request_line_header_count_and_body_are_refused_by_Kestrel()
    {
        await using var rig = await RigAsync();
        using (var big = new HttpRequestMessage(HttpMethod.Get, rig.Url + Path))
        {
            big.Headers.Add("X-Junk", new string('a', 20_000));
            using var response = await rig.Http.SendAsync(big);
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        }
        using (var many = new HttpRequestMessage(HttpMethod.Get, rig.Url + Path))
        {
            for (var i = 0; i < 80; i++)
                many.Headers.Add($"X-H{i}", "v");
            using var response = await rig.Http.SendAsync(many);
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        }
        using (var longUrl = await rig.Http.GetAsync(rig.Url + "/noobs/" + new string('a', 9000)))
            Assert.Equal(HttpStatusCode.RequestUriTooLong, longUrl.StatusCode);
        // A body far over the limit is refused on its declared length, before a byte of it is read.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, new Uri(rig.Url).Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                "POST /-/api/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"));
            var buffer = new byte[1024];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var n = await stream.ReadAsync(buffer, cts.Token);
            Assert.StartsWith("HTTP/1.1 413 ", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
        }
        // The server is still fine after all that.
        using var ok = await rig.GetAsync(Path);
        Assert.Equal(HttpStatusCode.Found, ok.StatusCode);
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_headers_is_cut_off()
    {
        await using var rig = await RigAsync("--Limits:RequestHeadersTimeoutSeconds=1");
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, new Uri(rig.Url).Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /noobs/file-0.img HTTP/1.1\r\nHost: x\r\nX-Slow: "));
        // Kestrel's heartbeat closes the connection (optionally after a 408) once the header timeout passes.
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var read = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer.AsMemory(read), cts.Token)) > 0)
            read += n;
        Assert.True(read == 0 || Encoding.ASCII.GetString(buffer, 0, read).Contains(" 408 ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--RateLimit:Slots=1000", "RateLimit:Slots")]
    [InlineData("--RateLimit:PermitsPerSecond=0", "PermitsPerSecond")]
    [InlineData("--Limits:MaxRequestHeaderCount=0", "MaxRequestHeaderCount")]
    public async Task Invalid_limits_stop_the_start_with_the_setting_named(string setting, string named)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = RedirectorApp.Build([$"--urls=http://127.0.0.1:{FreePort.Next()}", $"--Redis:Configuration={redis.Configuration}",
                $"--Redirector:PublicKey={ManifestSigner.PublicKeyOf(ManifestSigner.GenerateKeyPair().PrivateKey)}", "--Logging:LogLevel:Default=None", setting]);
            await app.StartAsync();
        });
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
