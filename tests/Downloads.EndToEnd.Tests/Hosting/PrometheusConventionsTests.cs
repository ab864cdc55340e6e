using System.Net;
using System.Net.Http.Headers;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Hosting;

/// <summary>
/// Every service's <c>/-/metrics</c>, from the built processes, passes Prometheus' own linter
/// (<c>promtool check metrics</c>: names, units, <c>_total</c> suffixes, help texts) and carries the standard
/// process and runtime metrics that stock Grafana dashboards and alerts expect (docs/ops.md, "Metrics").
/// </summary>
[Collection(QuietNetwork.Collection)]
public sealed partial class PrometheusConventionsTests(QuietNetwork net)
{
    /// <summary>A metric of ours in a PromQL expression (recording rules' names have colons and are skipped).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![:\w])downloads_[a-z_]+(?![:\w])")]
    private static partial System.Text.RegularExpressions.Regex MetricName();

    private static readonly string[] Standard =
    [
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_start_time_seconds",
        "process_open_fds", "process_max_fds", "process_num_threads", "dotnet_collection_count_total", "dotnet_total_memory_bytes",
        "dotnet_gc_heap_total_allocated_bytes_total", "dotnet_gc_pause_time_seconds_total", "dotnet_gc_last_collection_heap_size_bytes",
        "dotnet_thread_pool_threads", "dotnet_thread_pool_queue_length", "dotnet_thread_pool_work_item_count_total",
        "dotnet_monitor_lock_contentions_total",
    ];

    [Fact]
    public async Task Every_service_passes_promtool_check_metrics_and_exports_process_and_runtime_metrics()
    {
        // A redirect, a 404 and a download first, so the request-path series have observations.
        (await net.Http.GetAsync($"{net.RedirectorUrl}/{QuietNetwork.FilePath}")).Dispose();
        (await net.Http.GetAsync($"{net.RedirectorUrl}/noobs/not-there.zip")).Dispose();
        (await net.Http.GetAsync($"{net.MirrorUrl}/{QuietNetwork.FilePath}")).Dispose();
        var exported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, url) in new[] { ("origin", net.OriginUrl), ("mirror", net.MirrorUrl), ("redirector", net.RedirectorUrl) })
        {
            var text = await net.Http.GetStringAsync(url + "/-/metrics");
            exported.UnionWith(PrometheusText.Parse(text).Select(s => s.Name));
            var (exit, output) = await Promtool.RunAsync(text, net.WorkingDirectory, "check", "metrics");
            Assert.True(exit == 0 && output.Trim().Length == 0, $"promtool check metrics on the {name}'s /-/metrics (exit {exit}):\n{output}");

            var samples = PrometheusText.Parse(text);
            var missing = Standard.Where(m => !samples.Any(s => s.Name == m)).ToArray();
            Assert.True(missing.Length == 0, $"{name} lacks {string.Join(", ", missing)}");
            double Value(string metric) => samples.First(s => s.Name == metric).Value;
            Assert.InRange(Value("process_resident_memory_bytes"), 10e6, 10e9);
            Assert.InRange(Value("process_open_fds"), 3, Value("process_max_fds"));
            Assert.True(Value("process_cpu_seconds_total") > 0, $"{name}: CPU time");
            Assert.True(Value("dotnet_thread_pool_threads") >= 1, $"{name}: thread-pool threads");
            Assert.True(Value("dotnet_gc_heap_total_allocated_bytes_total") > 1e6, $"{name}: allocated bytes");
        }

        // The alert and recording rules (ops/prometheus/rules) name only metrics some service exports.
        var rules = string.Join("\n", Directory.GetFiles(Path.Combine(Promtool.RepositoryRoot, "ops", "prometheus", "rules"), "*.yml").Select(File.ReadAllText));
        var used = MetricName().Matches(rules).Select(m => m.Value).Distinct().ToArray();
        Assert.True(used.Length >= 10, $"metric names found in the rules: {string.Join(", ", used)}");
        var unknown = used.Where(m => !exported.Contains(m)).ToArray();
        Assert.True(unknown.Length == 0, $"the rules use metrics no service exports: {string.Join(", ", unknown)}");
    }

    [Fact]
    public async Task A_scrape_token_closes_metrics_to_anyone_without_it()
    {
        const string token = "scrape-secret";
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var redirector = net.StartRedirector(url, $"--Metrics:ScrapeToken={token}");
        await net.UntilAsync(redirector, $"{url}/{QuietNetwork.FilePath}", HttpStatusCode.Found);

        using var anonymous = await net.Http.GetAsync(url + "/-/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("", await anonymous.Content.ReadAsStringAsync());
        using var wrong = new HttpRequestMessage(HttpMethod.Get, url + "/-/metrics") { Headers = { Authorization = new("Bearer", "guess") } };
        using var refused = await net.Http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var right = new HttpRequestMessage(HttpMethod.Get, url + "/-/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        using var scraped = await net.Http.SendAsync(right);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("process_cpu_seconds_total", await scraped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The service itself stays open: the token guards the metrics only.
        using var redirect = await net.Http.GetAsync($"{url}/{QuietNetwork.FilePath}");
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
    }
}
