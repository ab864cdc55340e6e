using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Ops;

/// <summary>
/// <c>ops/prometheus/</c> as Prometheus reads it: the example scrape configuration and the rule files pass
/// <c>promtool check</c>, and the alert and recording rules pass their unit tests (<c>promtool test rules</c>).
/// That the rules name metrics the services really export is checked against the running services in
/// <see cref="Hosting.PrometheusConventionsTests"/>.
/// </summary>
public sealed class PrometheusRulesTests
{
    private static string Folder => Path.Combine(Promtool.RepositoryRoot, "ops", "prometheus");

    private static async Task PassesAsync(params string[] args)
    {
        var (exit, output) = await Promtool.RunAsync(null, Folder, args);
        Assert.True(exit == 0, $"promtool {string.Join(' ', args)} (exit {exit}):\n{output}");
    }

    [Fact]
    public Task The_example_scrape_configuration_is_valid() =>
        // Syntax only: the token file it names exists on the monitoring host, not here.
        PassesAsync("check", "config", "--syntax-only", "prometheus.yml");

    [Fact]
    public Task The_rule_files_are_valid() =>
        PassesAsync(["check", "rules", .. Directory.GetFiles(Path.Combine(Folder, "rules"), "*.yml").Order()]);

    [Fact]
    public Task The_alert_and_recording_rules_pass_their_unit_tests() =>
        PassesAsync(["test", "rules", .. Directory.GetFiles(Path.Combine(Folder, "tests"), "*.test.yml").Order()]);
}
