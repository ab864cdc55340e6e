using Downloads.Contracts.Hosting;
using System.Net;
using System.Net.Sockets;
using Downloads.Contracts.Mirrors;
using Downloads.Mirror.Limits;
using Downloads.Mirror.Reporting;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Downloads.Mirror.Tests.Limits;

public sealed class ConnectionLimitTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task A_connection_beyond_the_limit_gets_503_with_Retry_After_and_so_do_service_endpoints()
    {
        await using var host = new MirrorHost("lim1", redis.Configuration, "--Serving:MaxConnections=2", "--Serving:RetryAfterSeconds=7");
        host.App.MapGet("/file", () => "content");
        await host.App.StartAsync();
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();
        var held = await host.HoldConnectionsAsync(2);
        using var first = held[0];
        using var second = held[1];

        using (var http = new HttpClient { BaseAddress = host.BaseUri })
        {
            using var refused = await http.GetAsync("/file");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
            Assert.True(refused.Headers.ConnectionClose);
            Assert.Contains("Too many connections (2 max)", await refused.Content.ReadAsStringAsync());
        }
        // /-/ is no way around the limit: a client could hold connections with it as well as with files.
        using (var http = new HttpClient { BaseAddress = host.BaseUri })
        {
            using var health = await http.GetAsync("/-/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        }

        first.Close();
        await Eventually.TrueAsync(() => counters.OpenConnections <= 1, TimeSpan.FromSeconds(10), "first connection closed");
        using (var http = new HttpClient { BaseAddress = host.BaseUri })
            Assert.Equal("content", await http.GetStringAsync("/file"));
        Assert.Equal(2, host.App.Services.GetRequiredService<LimitCounters>().RefusedTotal);
        await host.App.StopAsync();
    }

    [Fact]
    public async Task A_full_mirror_answers_a_scrape_with_the_scrape_token_and_refuses_one_without()
    {
        await using var host = new MirrorHost("lim4", redis.Configuration, "--Serving:MaxConnections=2", "--Metrics:ScrapeToken=scrape-secret");
        await host.App.StartAsync();
        var held = await host.HoldConnectionsAsync(2);
        using var first = held[0];
        using var second = held[1];

        using (var http = new HttpClient { BaseAddress = host.BaseUri })
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "wrong");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/-/metrics")).StatusCode);
        }
        using (var http = new HttpClient { BaseAddress = host.BaseUri })
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "scrape-secret");
            using var scrape = await http.GetAsync("/-/metrics");
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.Contains("downloads_", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            // The token opens /-/metrics only, not the files or other endpoints.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/-/health")).StatusCode);
        }
        await host.App.StopAsync();
    }

    [Fact]
    public async Task One_address_over_its_limit_gets_503_while_another_address_is_served_and_the_refusals_are_counted()
    {
        await using var world = await LimitsWorld.StartAsync("lim2", 32 * 1024 * 1024, null,
            "--Serving:MaxConnectionsPerAddress=3", "--Serving:RetryAfterSeconds=9");
        var hog = LimitsWorld.Loopback(2);
        for (var i = 0; i < 3; i++)
            await world.SlowReaderAsync(hog);
        await Eventually.TrueAsync(() => world.Counters.OpenConnections == 3, LimitsWorld.Wait, "three slow readers connected");

        using (var hogClient = world.ClientFrom(hog))
        {
            using var refused = await hogClient.GetAsync("/-/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(9), refused.Headers.RetryAfter?.Delta);
            Assert.True(refused.Headers.ConnectionClose);
            Assert.Contains("Too many connections from your address (3 max)", await refused.Content.ReadAsStringAsync());
            using var again = await hogClient.GetAsync(LimitsWorld.File, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        }

        // Another client on the same host, another address: served in full.
        using (var neighbour = world.ClientFrom(LimitsWorld.Loopback(3)))
            Assert.Equal(world.Bytes, await neighbour.GetByteArrayAsync(LimitsWorld.File));

        using var scraper = world.ClientFrom(LimitsWorld.Loopback(4));
        var metrics = PrometheusText.Parse(await scraper.GetStringAsync("/-/metrics"));
        Assert.Equal(2, metrics.Single(s => s.Name == "downloads_mirror_refused_total" && s.Label("limit") == "address").Value);
        Assert.Equal(0, metrics.Single(s => s.Name == "downloads_mirror_refused_total" && s.Label("limit") == "connections").Value);
        // The hog's address and the scraper's (the neighbour's may not have closed yet).
        Assert.InRange(metrics.Single(s => s.Name == "downloads_mirror_client_addresses").Value, 2, 3);
    }

    [Fact]
    public async Task A_full_mirror_serves_a_signed_probe_once_and_refuses_unsigned_forged_and_replayed_ones()
    {
        await using var world = await LimitsWorld.StartAsync("lim3", 32 * 1024 * 1024, null, "--Serving:MaxConnections=3");
        // Three clients, three addresses: the mirror is full.
        for (byte a = 2; a <= 4; a++)
            await world.SlowReaderAsync(LimitsWorld.Loopback(a));
        await Eventually.TrueAsync(() => world.Counters.OpenConnections == 3, LimitsWorld.Wait, "three slow readers connected");
        var key = world.Host.App.Services.GetRequiredService<ProbeKey>();
        using var prober = world.ClientFrom(LimitsWorld.Loopback(10));
        var target = "/" + LimitsWorld.File;

        async Task<HttpResponseMessage> SendAsync(HttpMethod method, string? token, long? from = null)
        {
            using var request = new HttpRequestMessage(method, target);
            if (token is not null)
                request.Headers.TryAddWithoutValidation(ProbeToken.Header, token);
            if (from is { } f)
                request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(f, f + 999);
            return await prober.SendAsync(request);
        }

        using (var unsigned = await SendAsync(HttpMethod.Head, null))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unsigned.StatusCode);
        var headToken = ProbeToken.Create(key.Bytes, "HEAD", target, DateTimeOffset.UtcNow);
        using (var head = await SendAsync(HttpMethod.Head, headToken))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(world.Bytes.Length, head.Content.Headers.ContentLength);
        }
        using (var get = await SendAsync(HttpMethod.Get, ProbeToken.Create(key.Bytes, "GET", target, DateTimeOffset.UtcNow), from: 5000))
        {
            Assert.Equal(HttpStatusCode.PartialContent, get.StatusCode);
            Assert.Equal(world.Bytes.AsSpan(5000, 1000).ToArray(), await get.Content.ReadAsByteArrayAsync());
        }

        // The same token again (copied off the wire), one for another method, another mirror's key, an old one.
        using (var replayed = await SendAsync(HttpMethod.Head, headToken))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, replayed.StatusCode);
        using (var otherMethod = await SendAsync(HttpMethod.Get, ProbeToken.Create(key.Bytes, "HEAD", target, DateTimeOffset.UtcNow)))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, otherMethod.StatusCode);
        using (var forged = await SendAsync(HttpMethod.Head, ProbeToken.Create(ProbeToken.NewKey(), "HEAD", target, DateTimeOffset.UtcNow)))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, forged.StatusCode);
        using (var old = await SendAsync(HttpMethod.Head, ProbeToken.Create(key.Bytes, "HEAD", target, DateTimeOffset.UtcNow.AddMinutes(-6))))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, old.StatusCode);
        using (var junk = await SendAsync(HttpMethod.Head, "1.2.3"))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, junk.StatusCode);

        var limits = world.Host.App.Services.GetRequiredService<LimitCounters>();
        Assert.Equal(2, limits.ProbesExempted);
        Assert.Equal(6, limits.RefusedTotal);
    }

    [Fact]
    public async Task The_limits_count_ipv4_by_address_and_ipv6_by_64_prefix()
    {
        static UInt128 Key(string address)
        {
            Assert.True(AddressKey.TryGet(new IPEndPoint(IPAddress.Parse(address), 1234), out var key));
            return key;
        }

        Assert.Equal(Key("2001:db8:1:2::1"), Key("2001:db8:1:2:ffff:eeee:dddd:cccc"));
        Assert.NotEqual(Key("2001:db8:1:2::1"), Key("2001:db8:1:3::1"));
        Assert.Equal(Key("192.0.2.7"), Key("::ffff:192.0.2.7"));
        Assert.NotEqual(Key("192.0.2.7"), Key("192.0.2.8"));
        Assert.NotEqual(Key("::"), Key("0.0.0.0"));
        Assert.False(AddressKey.TryGet(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/x"), out _));

        var table = new AddressConnections();
        Assert.Equal(1, table.Opened(Key("192.0.2.7")));
        Assert.Equal(2, table.Opened(Key("::ffff:192.0.2.7")));
        Assert.Equal(1, table.Opened(Key("2001:db8::1")));
        table.Closed(Key("192.0.2.7"));
        table.Closed(Key("192.0.2.7"));
        table.Closed(Key("2001:db8::1"));
        Assert.Equal(0, table.Addresses);
    }
}
