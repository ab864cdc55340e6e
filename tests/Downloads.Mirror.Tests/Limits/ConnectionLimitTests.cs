using System.Net;
using System.Net.Sockets;
using Downloads.Mirror.Reporting;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Downloads.Mirror.Tests.Limits;

public sealed class ConnectionLimitTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task A_connection_beyond_the_limit_gets_503_with_Retry_After_and_service_endpoints_still_answer()
    {
        await using var host = new MirrorHost("lim1", redis.Configuration, "--Serving:MaxConnections=2", "--Serving:RetryAfterSeconds=7");
        host.App.MapGet("/file", () => "content");
        host.App.MapGet("/-/health", () => "ok");
        await host.App.StartAsync();
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        using var first = new TcpClient();
        using var second = new TcpClient();
        await first.ConnectAsync(IPAddress.Loopback, host.Port);
        await second.ConnectAsync(IPAddress.Loopback, host.Port);
        await Eventually.TrueAsync(() => counters.OpenConnections == 2, TimeSpan.FromSeconds(10), "two open connections");

        using (var http = new HttpClient { BaseAddress = host.BaseUri })
        {
            using var refused = await http.GetAsync("/file");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
            Assert.True(refused.Headers.ConnectionClose);
            Assert.Contains("Too many connections", await refused.Content.ReadAsStringAsync());
        }
        using (var http = new HttpClient { BaseAddress = host.BaseUri })
            Assert.Equal("ok", await http.GetStringAsync("/-/health"));

        first.Close();
        await Eventually.TrueAsync(() => counters.OpenConnections <= 1, TimeSpan.FromSeconds(10), "first connection closed");
        using (var http = new HttpClient { BaseAddress = host.BaseUri })
            Assert.Equal("content", await http.GetStringAsync("/file"));
        await host.App.StopAsync();
    }
}
