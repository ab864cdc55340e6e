using System.Text.Json;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Cli;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Cli;

/// <summary>Every CLI verb against a running redirector over HTTP, with the right token, a wrong one and none.</summary>
public sealed class OpsCliTests : IAsyncLifetime
{
    private const string Token = "cli-token";
    private readonly RedisServer _redis = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.StartAsync(_redis);
        await _net.StartRedirectorAsync(true, $"--Admin:Token={Token}", "--Ops:SampleSeconds=0.2");
    }

    public async Task DisposeAsync()
    {
        await _net.DisposeAsync();
        _redis.Dispose();
    }

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await OpsCli.RunAsync([.. args, "--url", _net.Url, "--token", Token], output, error, _ => null);
        return (code, output.ToString(), error.ToString());
    }

    private async Task<MirrorRecord> LoadAsync(string id) =>
        (await MirrorStore.LoadAllAsync(_net.Db, DateTimeOffset.UtcNow)).Single(m => m.Id == id);

    [Fact]
    public async Task Every_mirror_verb_changes_the_mirror_and_prints_it()
    {
        var list = await RunAsync("mirrors", "list");
        Assert.Equal(0, list.Code);
        Assert.Matches(@"(?m)^id\s+status\s+enabled", list.Out);
        Assert.Matches(@"(?m)^lon\s+approved\s+yes\s+no\s+yes\s+ok\s+7\b", list.Out);
        Assert.Contains("tyo", list.Out);

        var json = await RunAsync("mirrors", "list", "--json");
        Assert.Equal(["lon", "tyo"], JsonDocument.Parse(json.Out).RootElement.EnumerateArray().Select(m => m.GetProperty("id").GetString()));

        var show = await RunAsync("mirrors", "show", "lon");
        Assert.Equal(0, show.Code);
        Assert.Matches(@"(?m)^httpUrl\s+" + System.Text.RegularExpressions.Regex.Escape(_net.London.Url), show.Out);

        Assert.Equal(0, (await RunAsync("mirrors", "disable", "lon")).Code);
        Assert.False((await LoadAsync("lon")).Enabled);
        Assert.Equal(0, (await RunAsync("mirrors", "enable", "lon")).Code);
        Assert.True((await LoadAsync("lon")).Enabled);
        var drain = await RunAsync("mirrors", "drain", "lon");
        Assert.Equal(0, drain.Code);
        Assert.Matches(@"(?m)^lon\s+approved\s+yes\s+yes", drain.Out);
        Assert.True((await LoadAsync("lon")).Draining);
        Assert.Equal(0, (await RunAsync("mirrors", "undrain", "lon")).Code);
        Assert.False((await LoadAsync("lon")).Draining);
        Assert.Equal(0, (await RunAsync("mirrors", "set-capacity", "lon", "750")).Code);
        Assert.Equal(750, (await LoadAsync("lon")).CapacityMbps);
        Assert.Equal(0, (await RunAsync("mirrors", "set-weight", "lon", "40")).Code);
        Assert.Equal(40, (await LoadAsync("lon")).Weight);
        Assert.Equal(0, (await RunAsync("mirrors", "set-quota", "lon", "5000")).Code);
        Assert.Equal(5_000_000_000_000, (await LoadAsync("lon")).QuotaBytes);
        var billing = await RunAsync("mirrors", "set-billing-day", "lon", "15");
        Assert.Equal(0, billing.Code);
        Assert.Matches(@"(?m)^lon\s+approved\s.*\s15\s", billing.Out);
        Assert.Equal(15, (await LoadAsync("lon")).BillingDay);
        Assert.Equal(0, (await RunAsync("mirrors", "set-burst", "lon", "25")).Code);
        Assert.Equal(25, (await LoadAsync("lon")).BurstPercent);
        var shown = await RunAsync("mirrors", "show", "lon");
        Assert.Matches(@"(?m)^billingDay\s+15$", shown.Out);
        Assert.Matches(@"(?m)^burstPercent\s+25$", shown.Out);

        // approve: a mirror put back to pending.
        await MirrorStore.SetConfigAsync(_net.Db, "tyo", (Keyspace.ConfigFields.Status, "pending"));
        var approve = await RunAsync("mirrors", "approve", "tyo", "--json");
        Assert.Equal(0, approve.Code);
        Assert.Equal("Approved", JsonDocument.Parse(approve.Out).RootElement.GetProperty("status").GetString());
        Assert.Equal(MirrorStatus.Approved, (await LoadAsync("tyo")).Status);

        var remove = await RunAsync("mirrors", "remove", "tyo");
        Assert.Equal((0, "removed tyo\n"), (remove.Code, remove.Out));
        Assert.False(await _net.Db.SetContainsAsync(Keyspace.Mirrors, "tyo"));
    }

    [Fact]
    public async Task Tokens_issue_and_stats_print_readable_output()
    {
        var token = await RunAsync("tokens", "issue", "--hours", "2");
        Assert.Equal(0, token.Code);
        Assert.StartsWith("dlt_", token.Out);
        var tokenJson = await RunAsync("tokens", "issue", "--json");
        Assert.StartsWith("dlt_", JsonDocument.Parse(tokenJson.Out).RootElement.GetProperty("token").GetString());

        for (var i = 0; i < 3; i++)
            (await _net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "81.2.69.142")).Dispose();
        await Eventually.TrueAsync(async () => (await RunAsync("stats", "--json")).Out.Contains("\"redirectsToday\": 3", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "stats shows 3 redirects");
        var stats = await RunAsync("stats");
        Assert.Equal(0, stats.Code);
        Assert.Matches(@"(?m)^redirects today\s+3$", stats.Out);
        Assert.Matches(@"(?m)^lon\s+\d+\.\d\s+1000\s+3\s+100\.0 %", stats.Out);
        Assert.Matches(@"(?m)^GB\s+3$", stats.Out);
        Assert.Matches(@"(?m)^requests today \(every outcome\)\s+3$", stats.Out);
        Assert.Matches(@"(?m)^mirror\s+3\s+\d+\.\d\s+\d+\.\d\s+1\s+yes", stats.Out);
        Assert.Matches(@"(?m)^rate_limited\s+0\s", stats.Out);
    }

    [Fact]
    public async Task Failures_exit_non_zero_with_a_one_line_reason()
    {
        var ghost = await RunAsync("mirrors", "approve", "ghost");
        Assert.Equal((1, ""), (ghost.Code, ghost.Out));
        Assert.Equal("redirector mirrors approve: no mirror 'ghost'\n", ghost.Err);
        Assert.Equal(1, (await RunAsync("mirrors", "show", "ghost")).Code);
        Assert.Equal(1, (await RunAsync("mirrors", "remove", "ghost")).Code);
        Assert.Equal(1, (await RunAsync("mirrors", "set-capacity", "lon", "-5")).Code);
        foreach (var (verb, value, reason) in new[]
        {
            ("set-billing-day", "29", "day must be a whole day of the month, 1-28"),
            ("set-billing-day", "0", "day must be a whole day of the month, 1-28"),
            ("set-burst", "150", "percent must be between 0 and 100"),
            ("set-quota", "2e9", "gb must be between 0 (no quota) and 1000000000"),
        })
        {
            var refused = await RunAsync("mirrors", verb, "lon", value);
            Assert.Equal((1, ""), (refused.Code, refused.Out));
            Assert.Equal($"redirector mirrors {verb}: {reason}\n", refused.Err);
        }
        Assert.Equal(1, (await LoadAsync("lon")).BillingDay);
        Assert.Equal(1, (await RunAsync("mirrors", "set-billing-day", "ghost", "15")).Code);

        using var output = new StringWriter();
        using var error = new StringWriter();
        var wrong = await OpsCli.RunAsync(["mirrors", "list", "--url", _net.Url, "--token", "guess"], output, error, _ => null);
        Assert.Equal(3, wrong);
        Assert.Contains("wrong admin token", error.ToString());

        using var error2 = new StringWriter();
        Assert.Equal(3, await OpsCli.RunAsync(["mirrors", "list", "--url", _net.Url], TextWriter.Null, error2, _ => null));
        Assert.Contains("DOWNLOADS_ADMIN_TOKEN", error2.ToString());
        // The token from the environment works.
        Assert.Equal(0, await OpsCli.RunAsync(["mirrors", "list", "--url", _net.Url], TextWriter.Null, TextWriter.Null,
            name => name == OpsCli.TokenVariable ? Token : null));

        Assert.Equal(2, (await RunAsync("mirrors", "set-capacity", "lon", "lots")).Code);
        Assert.Equal(2, (await RunAsync("mirrors", "frobnicate")).Code);

        using var error3 = new StringWriter();
        var down = await OpsCli.RunAsync(["mirrors", "list", "--url", $"http://127.0.0.1:{FreePort.Next()}", "--token", Token], TextWriter.Null, error3, _ => null);
        Assert.Equal(4, down);
        Assert.Contains("cannot reach the redirector", error3.ToString());
    }
}
