using System.Text.Json;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Cli;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Staging;

/// <summary>Ops' staging coverage over a running redirector: the admin API and the CLI, from what mirrors report in Redis.</summary>
public sealed class StagingCoverageTests : IAsyncLifetime
{
    private const string Token = "cli-token";
    private const string A = "0123456789abcdef0123456789abcdef";
    private const string B = "fedcba9876543210fedcba9876543210";
    private readonly RedisServer _redis = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.StartAsync(_redis);
        // A second European mirror with a third of London's capacity.
        await _net.AddMirrorAsync("ams", _net.London.Url, 52.37, 4.9, "NL", "EU");
        await _net.Db.HashSetAsync(Keyspace.MirrorConfig("ams"), Keyspace.ConfigFields.CapacityMbps, "500");
        // What each mirror's reporter writes: the ids it holds complete (one with junk a hostile mirror might add).
        await _net.Db.HashSetAsync(Keyspace.MirrorState("lon"), Keyspace.StateFields.Staged, $"{A},{B}");
        await _net.Db.HashSetAsync(Keyspace.MirrorState("ams"), Keyspace.StateFields.Staged, $"{A},<script>,../etc");
        await _net.Db.HashSetAsync(Keyspace.MirrorState("tyo"), Keyspace.StateFields.Staged, "");
        await _net.StartRedirectorAsync(true, $"--Admin:Token={Token}", "--Ops:SampleSeconds=0.2", "--Ops:ExpectedSurgeGbps=EU:1.2");
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

    [Fact]
    public async Task Coverage_per_region_counts_mirrors_and_capacity_and_gives_a_go_no_go()
    {
        // The coverage is computed over the redirector's mirror snapshot: wait until it has the third mirror too.
        await Eventually.TrueAsync(async () => System.Text.RegularExpressions.Regex.IsMatch((await RunAsync("staging", "--json")).Out, "\"mirrors\":\\s*2"),
            TimeSpan.FromSeconds(30), "the redirector's snapshot has both EU mirrors");
        var json = await RunAsync("staging", "--expected", "EU:1.2,AS:0.5", "--json");
        Assert.True(json.Code == 0, json.Err);
        var files = JsonDocument.Parse(json.Out).RootElement;
        Assert.Equal([A, B], files.EnumerateArray().Select(f => f.GetProperty("id").GetString()));
        JsonElement Row(string id, string region) => files.EnumerateArray().Single(f => f.GetProperty("id").GetString() == id)
            .GetProperty("regions").EnumerateArray().Single(r => r.GetProperty("region").GetString() == region);

        var aEu = Row(A, "EU");
        Assert.Equal((2, 2), (aEu.GetProperty("mirrors").GetInt32(), aEu.GetProperty("holding").GetInt32()));
        Assert.Equal(1.5, aEu.GetProperty("holdingGbps").GetDouble(), 6);
        Assert.Equal("go", aEu.GetProperty("verdict").GetString());
        var bEu = Row(B, "EU");
        Assert.Equal(1, bEu.GetProperty("holding").GetInt32());
        Assert.Equal(1.0 / 1.5, bEu.GetProperty("capacityShare").GetDouble(), 6);
        Assert.Equal("no-go", bEu.GetProperty("verdict").GetString()); // 1 Gbit/s holds it, 1.2 expected
        var aAs = Row(A, "AS");
        Assert.Equal((1, 0), (aAs.GetProperty("mirrors").GetInt32(), aAs.GetProperty("holding").GetInt32()));
        Assert.Equal("no-go", aAs.GetProperty("verdict").GetString());
        Assert.DoesNotContain("<script>", json.Out, StringComparison.Ordinal);

        var table = await RunAsync("staging", "--expected", "EU:1.2");
        Assert.Equal(0, table.Code);
        Assert.Matches($@"(?m)^{A}\s+EU\s+2/2\s+1\.5\s*/1\.5\s+100\s?%\s+1\.2\s+go$", table.Out);
        Assert.Matches($@"(?m)^{B}\s+AS\s+0/1\s+.*\s-\s+-$", table.Out);

        // /-/metrics: per opaque id and region, the shares; nothing else of the release; promtool is content.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"{_net.Url}/-/metrics");
        var samples = PrometheusText.Parse(metrics);
        Assert.Equal(1.0, samples.Single(x => x.Name == "downloads_staged_mirror_share" && x.Label("id") == A && x.Label("region") == "EU").Value);
        Assert.Equal(1.0 / 1.5, samples.Single(x => x.Name == "downloads_staged_capacity_share" && x.Label("id") == B && x.Label("region") == "EU").Value, 6);
        Assert.Equal(0.0, samples.Single(x => x.Name == "downloads_staged_mirror_share" && x.Label("id") == A && x.Label("region") == "AS").Value);
        var (promtoolCode, promtoolOut) = await Promtool.RunAsync(metrics, Path.GetTempPath(), "check", "metrics");
        Assert.True(promtoolCode == 0, promtoolOut);

        // The dashboard's view carries the same table, with the configured surge's verdicts.
        var verdicts = Array.Empty<string>();
        await Eventually.TrueAsync(async () =>
        {
            using var view = new HttpRequestMessage(HttpMethod.Get, $"{_net.Url}/-/ops/view");
            view.Headers.Authorization = new("Bearer", Token);
            using var answer = await http.SendAsync(view);
            var staging = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("staging");
            verdicts = [.. staging.EnumerateArray().SelectMany(f => f.GetProperty("regions").EnumerateArray()
                .Where(r => r.GetProperty("region").GetString() == "EU").Select(r => f.GetProperty("id").GetString() + " " + r.GetProperty("verdict").GetString()))];
            return verdicts.Length == 2;
        }, TimeSpan.FromSeconds(30), "the dashboard's view has the staging table");
        Assert.Equal([$"{A} go", $"{B} no-go"], verdicts);

        // An id no mirror holds any more (released, or cancelled and purged) leaves /-/metrics.
        await _net.Db.HashSetAsync(Keyspace.MirrorState("lon"), Keyspace.StateFields.Staged, A);
        metrics = await http.GetStringAsync($"{_net.Url}/-/metrics");
        Assert.DoesNotContain(B, metrics, StringComparison.Ordinal);

        var bad = await RunAsync("staging", "--expected", "EU:lots");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("REGION:GBPS", bad.Err + bad.Out, StringComparison.Ordinal);
    }
}
