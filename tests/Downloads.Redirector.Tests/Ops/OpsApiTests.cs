using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Ops;

public sealed class OpsApiTests : IAsyncLifetime
{
    private const string Token = "ops-token";
    private readonly RedisServer _redis = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.StartAsync(_redis);
        await _net.StartRedirectorAsync(true, $"--Admin:Token={Token}", "--Ops:SampleSeconds=0.2", "--Health:Interval=00:00:01");
    }

    public async Task DisposeAsync()
    {
        await _net.DisposeAsync();
        _redis.Dispose();
    }

    private static AuthenticationHeaderValue Basic(string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + password)));

    private async Task<HttpResponseMessage> GetAsync(string path, AuthenticationHeaderValue? auth)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _net.Url + path);
        request.Headers.Authorization = auth;
        return await _net.Http.SendAsync(request);
    }

    [Fact]
    public async Task The_dashboard_is_protected_like_the_admin_API_and_serves_its_page_and_chart_library()
    {
        foreach (var path in new[] { "/-/ops", "/-/ops/view", "/-/ops/assets/uplot.js" })
        {
            using var anonymous = await GetAsync(path, null);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Contains("Basic", anonymous.Headers.WwwAuthenticate.ToString());
            using var wrong = await GetAsync(path, Basic("guess"));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        // The API behind the dashboard's data takes the bearer token only: no browser login prompt, no Basic.
        using (var anonymous = await GetAsync("/-/api/stats", null))
            Assert.Equal("Bearer realm=\"Downloads ops\"", anonymous.Headers.WwwAuthenticate.ToString());
        using (var basic = await GetAsync("/-/api/stats", Basic(Token)))
            Assert.Equal(HttpStatusCode.Forbidden, basic.StatusCode);
        using var page = await GetAsync("/-/ops", Basic(Token));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Downloads network", await page.Content.ReadAsStringAsync());
        // The page's headers (PageHeaders): a strict policy with no inline script or style, nothing framed, no Referer.
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        foreach (var directive in new[] { "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                     "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'" })
            Assert.Contains(directive, policy.Split(';', StringSplitOptions.TrimEntries));
        Assert.DoesNotContain("unsafe", policy);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        // The page has no inline script or style for the policy to refuse.
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)", html);
        Assert.DoesNotContain("<style", html);
        Assert.DoesNotContain(" style=", html);
        using var chart = await GetAsync("/-/ops/assets/uplot.js", new AuthenticationHeaderValue("Bearer", Token));
        Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
        Assert.Contains("uPlot", await chart.Content.ReadAsStringAsync());
        using var missing = await GetAsync("/-/ops/assets/nope.js", Basic(Token));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task The_view_shows_every_mirror_and_todays_downloads_per_file_and_country()
    {
        for (var i = 0; i < 30; i++)
            (await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "81.2.69.142")).Dispose();
        // Not downloads: two HEADs and a miss, from another client.
        for (var i = 0; i < 2; i++)
            (await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "89.160.20.128", HttpMethod.Head)).Dispose();
        (await _net.GetAsync("/os/none.img", "89.160.20.128")).Dispose();
        JsonElement view = default;
        await Eventually.TrueAsync(async () =>
        {
            using var answer = await GetAsync("/-/ops/view", Basic(Token));
            view = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.Clone();
            return view.GetProperty("redirectsToday").GetInt64() == 30 && view.GetProperty("requestsToday").GetInt64() == 33;
        }, TimeSpan.FromSeconds(15), "the view counts 30 redirects and 33 requests");
        var outcomes = view.GetProperty("outcomes").EnumerateArray().ToDictionary(o => o.GetProperty("outcome").GetString()!, o => o.GetProperty("today").GetInt64());
        Assert.Equal((30L, 2L, 1L, 0L), (outcomes["mirror"], outcomes["head"], outcomes["not_found"], outcomes["rate_limited"]));
        Assert.Equal(30, view.GetProperty("downloadsToday").GetInt64());
        Assert.Equal(2, view.GetProperty("uniqueAddressesAllToday").GetInt64());
        Assert.Contains(view.GetProperty("serverRejections").EnumerateArray(), e => e.GetProperty("key").GetString() == "rejected_connections");
        var mirrors = view.GetProperty("mirrors").EnumerateArray().ToList();
        Assert.Equal(["lon", "tyo"], mirrors.Select(m => m.GetProperty("id").GetString()));
        var lon = mirrors[0];
        Assert.Equal(30, lon.GetProperty("redirectsToday").GetInt64());
        Assert.Equal(1.0, lon.GetProperty("share").GetDouble());
        Assert.Equal(1000e6 / 8, lon.GetProperty("capacityBps").GetDouble());
        Assert.Equal(0, lon.GetProperty("serialsBehind").GetInt64());
        Assert.True(view.GetProperty("redisAvailable").GetBoolean());
        Assert.Equal(1, view.GetProperty("uniqueAddressesToday").GetInt64());
        var file = view.GetProperty("files")[0];
        Assert.Equal((TestNetwork.OsPath, 30L), (file.GetProperty("key").GetString(), file.GetProperty("count").GetInt64()));
        var country = view.GetProperty("countries")[0];
        Assert.Equal(("GB", 30L), (country.GetProperty("key").GetString(), country.GetProperty("count").GetInt64()));

        using var history = await GetAsync("/-/ops/history/lon?res=hour", Basic(Token));
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        using var ghost = await GetAsync("/-/ops/history/ghost", Basic(Token));
        Assert.Equal(HttpStatusCode.NotFound, ghost.StatusCode);
        using var badRes = await GetAsync("/-/ops/history/lon?res=week", Basic(Token));
        Assert.Equal(HttpStatusCode.BadRequest, badRes.StatusCode);
    }

    [Fact]
    public async Task Metrics_parse_as_Prometheus_text_and_count_redirects_by_outcome()
    {
        for (var i = 0; i < 5; i++)
            (await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "81.2.69.142")).Dispose();
        (await _net.GetAsync("/no/such/file")).Dispose();
        (await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath) + "?mirrorlist")).Dispose();

        IReadOnlyList<PrometheusSample> samples = [];
        await Eventually.TrueAsync(async () =>
        {
            using var answer = await _net.Http.GetAsync(_net.Url + "/-/metrics");
            Assert.StartsWith("text/plain", answer.Content.Headers.ContentType!.ToString());
            samples = PrometheusText.Parse(await answer.Content.ReadAsStringAsync());
            return samples.Any(s => s.Name == "downloads_mirror_redirects_total" && s.Label("mirror") == "lon" && s.Value == 5)
                && samples.Any(s => s.Name == "downloads_health_checks_total" && s.Label("mirror") == "tyo" && s.Label("result") == "ok");
        }, TimeSpan.FromSeconds(15), "per-mirror redirects drained into the metrics and a health round recorded");

        double Value(string name, string? label = null, string? value = null) =>
            samples.Single(s => s.Name == name && (label is null || s.Label(label) == value)).Value;
        Assert.Equal(5, Value("downloads_redirects_total", "outcome", "mirror"));
        Assert.Equal(1, Value("downloads_redirects_total", "outcome", "not_found"));
        Assert.Equal(1, Value("downloads_redirects_total", "outcome", "mirrorlist"));
        Assert.Equal(5, Value("downloads_selection_seconds_count"));
        // Every answer to GET /{path} is timed, whatever its outcome: 5 redirects, a 404, a mirror list.
        Assert.Equal(7, Value("downloads_redirect_duration_seconds_count"));
        Assert.Equal(7, samples.Single(s => s.Name == "downloads_redirect_duration_seconds_bucket" && s.Label("le") == "+Inf").Value);
        Assert.Equal(0, Value("downloads_rate_limited_total"));
        Assert.Equal("histogram", samples.First(s => s.Name == "downloads_selection_seconds_bucket").Type);
        Assert.Equal(1, Value("downloads_mirror_up", "mirror", "lon"));
        Assert.Equal(1, Value("downloads_mirror_healthy", "mirror", "tyo"));
        Assert.Equal(7, Value("downloads_manifest_serial"));
        Assert.Equal(0, Value("downloads_heartbeat_panic"));
        Assert.Equal(1, Value("downloads_redis_up"));
        Assert.Equal(0, Value("downloads_stats_pending_redirects"));
        Assert.True(Value("downloads_health_probe_seconds_count") >= 2);
    }
}
