using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Membership;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Apis;

public sealed class AdminApiTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private sealed record TokenAnswer(string Token, DateTimeOffset Expires);

    [Fact]
    public async Task Admin_calls_need_the_bearer_token_and_drive_token_enroll_approve_over_HTTP()
    {
        var port = FreePort.Next();
        await using var app = RedirectorApp.Build([$"--urls=http://127.0.0.1:{port}", $"--Redis:Configuration={redis.Configuration}",
            "--Admin:Token=s3cret", $"--Redirector:PublicKey={Downloads.Contracts.Manifests.ManifestSigner.GenerateKeyPair().PublicKey}", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using (var anonymous = await http.PostAsync("/-/api/tokens", null))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Post, "/-/api/mirrors/x/approve"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "guess");
            using var answer = await http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        using var issued = await http.PostAsJsonAsync("/-/api/tokens", new { lifetimeHours = 1 });
        issued.EnsureSuccessStatusCode();
        var token = (await issued.Content.ReadFromJsonAsync<TokenAnswer>())!.Token;

        using var enroll = await http.PostAsJsonAsync("/-/api/enroll", Members.Request("http1", token));
        enroll.EnsureSuccessStatusCode();
        var enrolled = (await enroll.Content.ReadFromJsonAsync<EnrollResponse>())!;
        Assert.Equal("dl-m-http1", enrolled.User);

        using var reuse = await http.PostAsJsonAsync("/-/api/enroll", Members.Request("http2", token));
        Assert.Equal(HttpStatusCode.Forbidden, reuse.StatusCode);
        Assert.Contains("token", await reuse.Content.ReadAsStringAsync());

        using var list = await http.GetAsync("/-/api/mirrors/http1");
        Assert.Contains("\"status\":\"Pending\"", (await list.Content.ReadAsStringAsync()).Replace(" ", ""), StringComparison.OrdinalIgnoreCase);

        using var approve = await http.PostAsync("/-/api/mirrors/http1/approve", null);
        approve.EnsureSuccessStatusCode();
        using var missing = await http.PostAsync("/-/api/mirrors/ghost/approve", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_mirror_that_states_no_place_is_placed_where_the_trusted_proxy_says_it_is_not_at_the_proxy()
    {
        using var dir = new TempDirectory("place");
        var (city, asn) = Downloads.GeoData.SampleGeoDatabases.WriteAll(dir.Path);
        var port = FreePort.Next();
        await using var app = RedirectorApp.Build([$"--urls=http://127.0.0.1:{port}", $"--Redis:Configuration={redis.Configuration}",
            "--Admin:Token=s3cret", $"--Redirector:PublicKey={Downloads.Contracts.Manifests.ManifestSigner.GenerateKeyPair().PublicKey}",
            $"--Geo:CityDatabase={city}", $"--Geo:AsnDatabase={asn}", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var issue = new HttpRequestMessage(HttpMethod.Post, "/-/api/tokens") { Content = JsonContent.Create(new { lifetimeHours = 1 }) };
        issue.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        using var issued = await http.SendAsync(issue);
        var token = (await issued.Content.ReadFromJsonAsync<TokenAnswer>())!.Token;

        // Through a trusted proxy (loopback): the mirror's own address is the forwarded one, in London.
        using var enroll = new HttpRequestMessage(HttpMethod.Post, "/-/api/enroll") { Content = JsonContent.Create(Members.Request("placed1", token)) };
        enroll.Headers.Add("X-Forwarded-For", "81.2.69.142");
        (await http.SendAsync(enroll)).EnsureSuccessStatusCode();

        // The place is in its requested info; ops' approval makes it the approved record that routing uses.
        var service = Members.Service(redis);
        Assert.Equal("GB", (await service.FindAsync("placed1"))!.PendingChange![Keyspace.InfoFields.Country].Requested);
        Assert.True((await service.ApproveAsync("placed1")).Ok);
        var placed = (await service.FindAsync("placed1"))!;
        Assert.Equal("GB", placed.Country);
        Assert.InRange(placed.Latitude, 50, 53);
        await app.StopAsync();
    }
}
