using System.Collections.Concurrent;
using System.Globalization;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Health;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Downloads.Redirector.Tests.Health;

public sealed class ProbeSignerTests
{
    [Fact]
    public async Task Parallel_probes_are_each_signed_with_their_own_mirrors_key_for_the_target_sent_and_unkeyed_ones_not_at_all()
    {
        var time = new FixedTime(DateTimeOffset.Parse("2026-12-04T12:00:00Z", CultureInfo.InvariantCulture));
        var seen = new ConcurrentDictionary<string, (string Method, string Target, string Token)>();
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder([$"--urls=http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning"]);
        await using var app = builder.Build();
        app.Run(context =>
        {
            var target = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
            seen[context.Request.Path.Value!.Split('/')[1]] = (context.Request.Method, target, context.Request.Headers[ProbeToken.Header].ToString());
            return Task.CompletedTask;
        });
        await app.StartAsync();
        using var http = new HttpClient(new ProbeSigner(time) { InnerHandler = new SocketsHttpHandler() });
        var keys = new Dictionary<string, byte[]?> { ["a"] = ProbeToken.NewKey(), ["b"] = ProbeToken.NewKey(), ["c"] = null };

        async Task ProbeAsync(string mirror)
        {
            ProbeSigner.Use(keys[mirror]);
            await Task.Yield();
            using var head = new HttpRequestMessage(HttpMethod.Head, $"http://127.0.0.1:{port}/{mirror}/os/a%20file.img?x=1");
            (await http.SendAsync(head)).Dispose();
        }

        await Task.WhenAll(ProbeAsync("a"), ProbeAsync("b"), ProbeAsync("c"));

        foreach (var mirror in new[] { "a", "b" })
        {
            var (method, target, token) = seen[mirror];
            Assert.Equal($"/{mirror}/os/a%20file.img?x=1", target);
            Assert.Equal(ProbeTokenCheck.Valid, ProbeToken.Verify(keys[mirror], token, method, target, time.GetUtcNow(), out _));
            var other = keys[mirror == "a" ? "b" : "a"]!;
            Assert.Equal(ProbeTokenCheck.BadMac, ProbeToken.Verify(other, token, method, target, time.GetUtcNow(), out _));
        }
        Assert.Equal("", seen["c"].Token);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
