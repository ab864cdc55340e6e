using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Downloads.EndToEnd.Tests.Ops;

/// <summary>
/// CSRF against the admin API in a real browser (issue #15 §4; Debian's chromium driven by Playwright). Ops have
/// opened the dashboard, so the browser holds the Basic login for the redirector's origin; then a page on another
/// origin (a second Kestrel on another loopback port: another port is another origin, and the same site, the
/// hardest case) tries to drain and disable a mirror, by <c>fetch</c> with credentials and by an auto-submitted
/// form. Both must be refused, and the mirror's state in Redis must not change.
/// </summary>
[Collection(BrowserTestGroup.Name)]
public sealed class CrossSiteAdminTests : IAsyncLifetime
{
    private const string Token = "csrf-ops-token";
    private const string Victim = "victim";

    private readonly RedisServer _redis = new();
    private readonly List<Received> _received = [];
    private readonly int _port = FreePort.Next();
    private WebApplication _redirector = null!;
    private WebApplication _attacker = null!;

    private string RedirectorUrl => $"http://127.0.0.1:{_port}";
    private string AttackerUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";

    public async Task InitializeAsync()
    {
        await TestMirrors.AddApprovedAsync(_redis.Admin.GetDatabase(), Victim, "http://victim.example.org", 51.5, -0.12, "GB", "EU", serial: 1);
        _redirector = RedirectorApp.Build([$"--urls={RedirectorUrl}", $"--Redis:Configuration={_redis.Configuration}", $"--Admin:Token={Token}",
            $"--Redirector:PublicKey={ManifestSigner.GenerateKeyPair().PublicKey}", "--Health:Enabled=false", "--Ops:SampleSeconds=0.5",
            "--Logging:LogLevel:Default=Warning"], services => services.AddSingleton<IStartupFilter>(new Recorder(_received)));
        await _redirector.StartAsync();

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(AttackerUrl);
        builder.Logging.ClearProviders();
        _attacker = builder.Build();
        var target = $"{RedirectorUrl}/-/api/mirrors/{Victim}";
        // A simple (no-preflight) POST that carries the browser's credentials; the answer is opaque to the page, the effect is not.
        _attacker.MapGet("/fetch", () => Results.Content($$"""
            <!doctype html><title>cats</title>
            <script>
            window.attack = fetch("{{target}}/drain", { method: "POST", mode: "no-cors", credentials: "include" })
              .then(r => "sent", e => "failed: " + e.message);
            </script>
            """, "text/html"));
        _attacker.MapGet("/form", () => Results.Content($$"""
            <!doctype html><title>cats</title>
            <form method="post" action="{{target}}/disable"><input type="hidden" name="please" value="1"></form>
            <script>document.forms[0].submit();</script>
            """, "text/html"));
        await _attacker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _attacker.StopAsync();
        await _attacker.DisposeAsync();
        await _redirector.StopAsync();
        await _redirector.DisposeAsync();
        _redis.Dispose();
    }

    /// <summary>One admin API request as the redirector received it (before any of its own middleware) and answered it.</summary>
    private sealed record Received(string Method, string Path, string? FetchSite, string? Origin, string? AuthScheme, int Status);

    /// <summary>Records every <c>/-/api/</c> request at the very front of the redirector's pipeline.</summary>
    private sealed class Recorder(List<Received> received) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                await nextMiddleware(context);
                var request = context.Request;
                if (!request.Path.StartsWithSegments("/-/api"))
                    return;
                static string? Header(HttpRequest r, string name) => r.Headers.TryGetValue(name, out var v) ? v.ToString() : null;
                lock (received)
                    received.Add(new(request.Method, request.Path, Header(request, "Sec-Fetch-Site"), Header(request, "Origin"),
                        Header(request, "Authorization")?.Split(' ')[0], context.Response.StatusCode));
            });
            next(app);
        };
    }

    private async Task<MirrorRecord> VictimAsync() =>
        (await MirrorStore.LoadAllAsync(_redis.Admin.GetDatabase(), DateTimeOffset.UtcNow)).Single(m => m.Id == Victim);

    [Fact]
    public async Task A_page_on_another_origin_cannot_drain_or_disable_a_mirror_with_the_browsers_cached_ops_login()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = "/usr/bin/chromium", Args = OpsDashboardTests.ChromiumArgs, Headless = true,
        });
        await using var context = await browser.NewContextAsync(new()
        {
            // The login ops typed into the browser's prompt, which it answers for the redirector's origin from now on.
            HttpCredentials = new() { Username = "ops", Password = Token, Origin = RedirectorUrl },
        });

        // Ops open the dashboard: the browser logs in and reads the dashboard's data with that login.
        var ops = await context.NewPageAsync();
        var opened = await ops.GotoAsync(RedirectorUrl + "/-/ops");
        Assert.Equal(200, opened!.Status);
        await ops.WaitForFunctionAsync("() => window.ops && window.ops.polls >= 1 && document.querySelectorAll('#mirrors tbody tr').length === 1",
            null, new() { Timeout = 30_000 });

        // Another origin's script: fetch with the browser's credentials.
        var evil = await context.NewPageAsync();
        var drained = evil.WaitForResponseAsync(r => r.Url.EndsWith("/drain", StringComparison.Ordinal), new() { Timeout = 15_000 });
        await evil.GotoAsync(AttackerUrl + "/fetch");
        await evil.EvaluateAsync<string>("() => window.attack");
        Assert.Equal(403, (await drained).Status);

        // Another origin's form, submitted as soon as the page loads: a top-level navigation to the admin API.
        var form = await context.NewPageAsync();
        var disabled = form.WaitForResponseAsync(r => r.Url.EndsWith("/disable", StringComparison.Ordinal), new() { Timeout = 15_000 });
        await form.GotoAsync(AttackerUrl + "/form");
        Assert.Equal(403, (await disabled).Status);
        Assert.Contains("refused", await form.Locator("body").InnerTextAsync());

        // Even a script on the dashboard's own origin (what an XSS would be) cannot change state with the login.
        var ownStatus = await ops.EvaluateAsync<int>($"() => fetch('/-/api/mirrors/{Victim}/drain', {{ method: 'POST' }}).then(r => r.status)");
        Assert.Equal(403, ownStatus);

        // Recorded once the answer is written, so a moment after the browser has it.
        await Eventually.TrueAsync(() => { lock (_received) return _received.Count(r => r.Method == "POST") >= 3; },
            TimeSpan.FromSeconds(10), "the redirector recorded the three POSTs");
        lock (_received)
        {
            // What reached the redirector: three POSTs, and the browser said where each came from (the other port is the
            // same site, not the same origin), which is what refused the first two.
            var sent = _received.Where(r => r.Method == "POST").ToList();
            Assert.Equal(3, sent.Count);
            Assert.Equal(["same-site", "same-site", "same-origin"], sent.Select(r => r.FetchSite));
            Assert.Equal([AttackerUrl, AttackerUrl, RedirectorUrl], sent.Select(r => r.Origin));
            Assert.All(sent, r => Assert.Equal(403, r.Status));
        }
        var victim = await VictimAsync();
        Assert.False(victim.Draining, "the mirror was drained");
        Assert.True(victim.Enabled, "the mirror was disabled");
    }
}
