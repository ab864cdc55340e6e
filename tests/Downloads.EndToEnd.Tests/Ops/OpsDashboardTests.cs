using System.Diagnostics;
using Downloads.Testing;
using Microsoft.Playwright;

namespace Downloads.EndToEnd.Tests.Ops;

/// <summary>Runs alone: a browser and a throttled download on a 2-core box are timing-sensitive next to other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserTestGroup
{
    public const string Name = "browser";
}

/// <summary>The ops dashboard in a real browser (Debian's chromium driven by Playwright) over a running network, and every service's /-/metrics.</summary>
[Collection(BrowserTestGroup.Name)]
public sealed class OpsDashboardTests(OpsNetwork net) : IClassFixture<OpsNetwork>
{
    internal static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    /// <summary>Where the screenshot goes: the repository's TestResults/ (next to test.sh's .trx files), else the test output folder.</summary>
    private static string ArtifactPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Downloads.sln")))
            dir = dir.Parent;
        var folder = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    // Runs before any page script, outside the page's CSP (Playwright injects it): records every violation the page reports.
    private const string RecordCspViolations =
        "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));";

    /// <summary>What the browser refused under the page's Content-Security-Policy, as the page saw it and as the console said.</summary>
    private static async Task<string[]> CspViolationsAsync(IPage page, IEnumerable<string> console) =>
        [.. await page.EvaluateAsync<string[]>("() => window.__csp"),
            .. console.Where(m => m.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))];

    private static Task<double> MaxLiveMbpsAsync(IPage page) => page.EvaluateAsync<double>(
        "() => Math.max(0, ...[...window.ops.live.series.values()].flat().filter(v => v != null))");

    [Fact]
    public async Task Ops_see_every_mirror_and_the_bandwidth_chart_move_while_a_download_runs()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Args = ChromiumArgs, Headless = true });

        // Without the token the page is refused.
        await using (var anonymous = await browser.NewContextAsync())
        {
            var refused = await anonymous.APIRequest.GetAsync(net.Redirector.BaseUrl + "/-/ops");
            Assert.Equal(401, refused.Status);
        }

        await using var context = await browser.NewContextAsync(new()
        {
            HttpCredentials = new() { Username = "ops", Password = OpsNetwork.Token },
            ViewportSize = new() { Width = 1280, Height = 1500 },
        });
        await context.AddInitScriptAsync(RecordCspViolations);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        var console = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) => console.Add(m.Text);
        var answer = await page.GotoAsync(net.Redirector.BaseUrl + "/-/ops");
        Assert.Equal(200, answer!.Status);
        Assert.Contains("default-src 'none'", answer.Headers["content-security-policy"]);
        await page.WaitForFunctionAsync("() => window.ops && window.ops.polls >= 2 && document.querySelectorAll('#mirrors tbody tr').length === 2",
            null, new() { Timeout = 40_000 });

        var listed = await page.Locator("#mirrors tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.mirror)");
        Assert.Equal(["m-lon", "m-sto"], listed);
        Assert.Contains("approved", await page.Locator("#mirrors tbody tr[data-mirror='m-lon']").InnerTextAsync());
        var chart = page.Locator("#live-chart canvas");
        await chart.WaitForAsync();
        // Nothing downloads yet.
        Assert.InRange(await MaxLiveMbpsAsync(page), 0, 1);
        var before = await chart.ScreenshotAsync();

        // A client in London asks the redirector, then downloads from the mirror it was sent to at ~512 KB/s.
        using var ask = new HttpRequestMessage(HttpMethod.Get, $"{net.Redirector.BaseUrl}/{OpsNetwork.BigFile}");
        ask.Headers.Add("X-Forwarded-For", "81.2.69.142");
        using var redirect = await net.Http.SendAsync(ask);
        Assert.Equal(System.Net.HttpStatusCode.Found, redirect.StatusCode);
        var location = redirect.Headers.Location!.ToString();
        var serving = net.Mirrors.SingleOrDefault(m => location.StartsWith(m.BaseUrl + "/", StringComparison.Ordinal));
        Assert.True(serving is not null, $"redirected to a mirror, not {location}");
        using var curl = Process.Start(new ProcessStartInfo("curl", ["-sS", "--limit-rate", "512K", "-o", "/dev/null", location])
        { RedirectStandardError = true })!;
        try
        {
            // The mirror reports every 250 ms; on loopback a rate-limited client drains the socket buffers in
            // bursts, so readings come as spikes and a single poll may show 0. First wait until the chart's
            // series for the serving mirror holds a spike, then until its table row shows a non-zero rate
            // (any poll while the download runs; ~48 s at 512 KB/s).
            await Eventually.TrueAsync(async () => await page.EvaluateAsync<double>(
                    "id => Math.max(0, ...(window.ops.live.series.get(id) ?? []).filter(v => v != null))", serving.Name) > 2,
                TimeSpan.FromSeconds(40), $"the live chart shows {serving.Name} serving the download");
            var row = "";
            await Eventually.TrueAsync(async () =>
            {
                row = await page.Locator($"#mirrors tbody tr[data-mirror='{serving.Name}'] td:nth-child(3)").InnerTextAsync();
                return System.Text.RegularExpressions.Regex.IsMatch(row, @"^\s*[1-9][\d.,]* / 400 Mbit/s");
            }, TimeSpan.FromSeconds(30), $"{serving.Name}'s row shows a non-zero rate against its capacity");
            await page.WaitForTimeoutAsync(1000);
            var after = await chart.ScreenshotAsync();
            Assert.NotEqual(Convert.ToBase64String(before), Convert.ToBase64String(after));
            var busiest = await page.EvaluateAsync<string>(
                "() => [...window.ops.live.series].sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]))[0][0]");
            Assert.Equal(serving.Name, busiest);
            await page.ScreenshotAsync(new() { Path = ArtifactPath("ops-dashboard.png"), FullPage = true });
            Assert.True(new FileInfo(ArtifactPath("ops-dashboard.png")).Length > 10_000);
        }
        finally
        {
            if (!curl.HasExited)
                curl.Kill();
            await curl.WaitForExitAsync();
        }
        Assert.Empty(errors);
        // The page, its charts and its polling ran under its strict policy without one refusal …
        Assert.Empty(await CspViolationsAsync(page, console));
        // … and the policy is enforced: markup that slipped in could not run script.
        await page.EvaluateAsync("() => document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.pwned = 1\">')");
        await page.EvaluateAsync("() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 2'; document.body.appendChild(s); }");
        await Eventually.TrueAsync(async () => await page.EvaluateAsync<int>("() => window.__csp.length") >= 2, TimeSpan.FromSeconds(10),
            "the page reports both refusals");
        Assert.True(await page.EvaluateAsync<bool>("() => window.pwned === undefined"), "injected script ran under the dashboard's CSP");
    }

    [Fact]
    public async Task The_mirror_list_page_keeps_its_own_style_and_nothing_else_under_its_policy()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Args = ChromiumArgs, Headless = true });
        await using var context = await browser.NewContextAsync(new() { ExtraHTTPHeaders = new Dictionary<string, string> { ["X-Forwarded-For"] = "81.2.69.142" } });
        await context.AddInitScriptAsync(RecordCspViolations);
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, m) => console.Add(m.Text);
        var answer = await page.GotoAsync($"{net.Redirector.BaseUrl}/{OpsNetwork.BigFile}?mirrorlist");
        Assert.Equal(200, answer!.Status);
        Assert.Equal("nosniff", answer.Headers["x-content-type-options"]);
        Assert.Equal("no-referrer", answer.Headers["referrer-policy"]);
        Assert.Equal(OpsNetwork.BigFile, await page.Locator("h1").InnerTextAsync());
        // The inline style block applied (allowed by its hash): 2em of margin, collapsed table borders.
        Assert.Equal("32px", await page.EvaluateAsync<string>("() => getComputedStyle(document.body).marginTop"));
        Assert.Equal("collapse", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('table')).borderCollapse"));
        Assert.Empty(await CspViolationsAsync(page, console));
        // Any other style or script is refused.
        await page.EvaluateAsync("() => document.head.insertAdjacentHTML('beforeend', '<style>body{margin:7px}</style>')");
        await page.EvaluateAsync("() => document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.pwned = 1\">')");
        await Eventually.TrueAsync(async () => await page.EvaluateAsync<int>("() => window.__csp.length") >= 2, TimeSpan.FromSeconds(10),
            "the page reports both refusals");
        Assert.Equal("32px", await page.EvaluateAsync<string>("() => getComputedStyle(document.body).marginTop"));
        Assert.True(await page.EvaluateAsync<bool>("() => window.pwned === undefined"), "injected script ran under the mirror list's CSP");
    }

    [Fact]
    public async Task Every_service_serves_metrics_that_parse_as_Prometheus_text()
    {
        // One redirect so the request-path series exist.
        (await net.Http.GetAsync($"{net.Redirector.BaseUrl}/noobs/README.txt")).Dispose();
        var hosts = new[] { net.Origin, net.Redirector, net.Mirrors[0] };
        var expected = new Dictionary<string, string[]>
        {
            ["origin"] = ["downloads_origin_manifest_serial", "downloads_redis_up"],
            ["redirector"] = ["downloads_redirects_total", "downloads_selection_seconds_bucket", "downloads_mirror_rate_bytes_per_second",
                "downloads_mirror_sync_lag_serials", "downloads_mirror_healthy", "downloads_redis_up"],
            ["m-lon"] = ["downloads_mirror_sent_bytes_total", "downloads_mirror_requests_total", "downloads_mirror_live_serial",
                "downloads_mirror_sync_errors_total", "downloads_mirror_sync_fetched_bytes_total", "downloads_redis_up"],
        };
        foreach (var host in hosts)
        {
            await Eventually.TrueAsync(async () =>
            {
                var samples = PrometheusText.Parse(await net.Http.GetStringAsync(host.BaseUrl + "/-/metrics"));
                return expected[host.Name].All(name => samples.Any(s => s.Name == name))
                    && samples.Single(s => s.Name == "downloads_redis_up").Value == 1;
            }, TimeSpan.FromSeconds(15), $"{host.Name} exposes {string.Join(", ", expected[host.Name])}");
        }
        var mirror = PrometheusText.Parse(await net.Http.GetStringAsync(net.Mirrors[0].BaseUrl + "/-/metrics"));
        Assert.Equal(1, mirror.Single(s => s.Name == "downloads_mirror_live_serial").Value);
        Assert.True(mirror.Single(s => s.Name == "downloads_mirror_sync_fetched_bytes_total").Value >= OpsNetwork.BigSize);
    }
}
