using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Downloads.Redirector.Health;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>
/// Issue #15 §7 and §10: a redirector restarted while Redis (and the origin) are down routes from the state it kept
/// in <c>Redirector:StateDir</c> and says it is degraded; a tampered file is not used; an older signed manifest is
/// refused after a restart. Real redis-server, real Kestrel, the redirector restarted in-process.
/// </summary>
public class SavedStateTests
{
    private const string London = "81.2.69.142";
    private static readonly string Path0 = "/" + Escaped(OsPath);

    [Fact]
    public async Task Restarted_with_Redis_and_origin_down_it_redirects_to_mirrors_from_saved_state_and_says_so()
    {
        using var redis = new RedisServer();
        using var state = new TempDirectory("state");
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync(true, StateDir(state));
        Assert.StartsWith(net.London.Url, (await net.GetAsync(Path0, London)).Headers.Location!.OriginalString, StringComparison.Ordinal);
        await SavedAsync(state);
        Assert.Equal("ok", (await HealthAsync(net)).Status);

        await net.StopRedirectorAsync();
        redis.Stop();
        net.Origin.Refuse = true;
        await net.StartRedirectorAsync(false, StateDir(state));

        // Before anything answers: the saved table and manifest route the client to its near mirror, not the origin.
        var response = await net.GetAsync(Path0, London);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(net.London.Url, response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        var health = await HealthAsync(net);
        Assert.Equal((200, "degraded", 7L), (health.Code, health.Status, health.Serial));
        Assert.Contains(SavedStateDegradation.Reason, health.Reasons);
        Assert.Equal(1, await net.MetricAsync("downloads_redirector_degraded"));

        // Redis and the origin come back (Redis empty: the mirrors register again): routed by Redis, healthy.
        redis.Start();
        await net.AddMirrorAsync("lon", net.London.Url, 51.5, -0.12, "GB", "EU");
        await net.AddMirrorAsync("tyo", net.Tokyo.Url, 35.68, 139.69, "JP", "AS");
        net.Origin.Refuse = false;
        await Eventually.TrueAsync(async () => (await HealthAsync(net)).Status == "ok", TimeSpan.FromSeconds(30),
            "no longer degraded once Redis answers");
        Assert.Equal(0, await net.MetricAsync("downloads_redirector_degraded"));
    }

    [Fact]
    public async Task Started_without_Redis_or_saved_state_it_is_degraded_with_no_mirror_and_sends_clients_to_the_origin()
    {
        using var redis = new RedisServer();
        using var state = new TempDirectory("state");
        await using var net = await StartAsync(redis);
        redis.Stop();
        await net.StartRedirectorAsync(false, StateDir(state));

        await Eventually.TrueAsync(async () => (await HealthAsync(net)).Code == 200, TimeSpan.FromSeconds(20), "the manifest loads from the origin");
        var health = await HealthAsync(net);
        Assert.Equal("degraded", health.Status);
        Assert.Contains(NoMirror.Reason, health.Reasons);
        Assert.StartsWith(net.Origin.Url, (await net.GetAsync(Path0, London)).Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tampered_state_file_is_not_used()
    {
        using var redis = new RedisServer();
        using var state = new TempDirectory("state");
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync(true, StateDir(state));
        await SavedAsync(state);
        await net.StopRedirectorAsync();

        // Someone rewrote the London mirror's URL: the record fails validation, so the whole file is refused.
        var file = state.Combine("state.json");
        var doc = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        foreach (var m in doc["mirrors"]!.AsArray())
            m!["httpUrl"] = "javascript:alert(1)";
        await File.WriteAllTextAsync(file, doc.ToJsonString());
        redis.Stop();
        await net.StartRedirectorAsync(false, StateDir(state));

        var response = await net.GetAsync(Path0, London);
        Assert.StartsWith(net.Origin.Url, response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        var health = await HealthAsync(net);
        Assert.Contains(NoMirror.Reason, health.Reasons);
        Assert.DoesNotContain(SavedStateDegradation.Reason, health.Reasons);
    }

    [Fact]
    public async Task An_older_signed_manifest_replayed_after_a_restart_is_refused()
    {
        using var redis = new RedisServer();
        using var state = new TempDirectory("state");
        await using var net = await StartAsync(redis);
        var serial7 = net.Origin.Published;
        await net.StartRedirectorAsync(true, StateDir(state), "--Redirector:ManifestRefreshSeconds=0.2");
        net.Publish(await BuildManifestAsync(net.Files.Path, [NoobsPath, OsPath], serial: 8, changedAt: 7));
        await Eventually.TrueAsync(async () => (await HealthAsync(net)).Serial == 8, TimeSpan.FromSeconds(20), "serial 8 loaded");
        await Eventually.TrueAsync(() => Task.FromResult(JsonNode.Parse(File.ReadAllText(state.Combine("state.json")))!["highestSerial"]!.GetValue<long>() == 8),
            TimeSpan.FromSeconds(10), "serial 8 kept as the highest");
        await net.StopRedirectorAsync();

        // The origin (or whoever answers in its name) serves the old, validly signed serial 7; the saved manifest is gone too.
        net.Origin.Published = serial7;
        File.Delete(state.Combine("manifest.signed"));
        await net.StartRedirectorAsync(false, StateDir(state), "--Redirector:ManifestRefreshSeconds=0.2");
        await net.Origin.FetchedAgainAsync(3, TimeSpan.FromSeconds(20), "the redirector fetched the replayed manifest several times");
        var health = await HealthAsync(net);
        Assert.Equal((503, "no manifest"), (health.Code, health.Status));

        // The origin publishes serial 9: accepted.
        net.Publish(await BuildManifestAsync(net.Files.Path, [NoobsPath, OsPath], serial: 9, changedAt: 7));
        await Eventually.TrueAsync(async () => (await HealthAsync(net)).Serial == 9, TimeSpan.FromSeconds(20), "serial 9 loaded");
    }

    [Fact]
    public void Records_that_Redis_could_not_have_given_are_refused()
    {
        var good = new Contracts.Mirrors.MirrorRecord { Id = "lon", HttpUrl = "http://lon.example/pub", Country = "GB", Continent = "EU", Latitude = 51.5, Longitude = -0.1 };
        Assert.Null(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 2, Mirrors = [good] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good, good] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { Id = "../x" }] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { HttpUrl = "http://Lon.example/pub/" }] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { Country = "gb" }] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { Latitude = 91 }] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { Weight = double.NaN }] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { Sets = ["a b"] }] }));
        Assert.NotNull(SavedState.Problem(new SavedState.StateDocument { Version = 1, Mirrors = [good with { Name = new string('x', 5000) }] }));
    }

    private static string StateDir(TempDirectory dir) => $"--Redirector:StateDir={dir.Path}";

    private static Task SavedAsync(TempDirectory state) =>
        Eventually.TrueAsync(() => Task.FromResult(File.Exists(state.Combine("state.json")) && File.Exists(state.Combine("manifest.signed"))),
            TimeSpan.FromSeconds(10), "the state and the manifest are saved");

    private sealed record HealthAnswer(int Code, string Status, long Serial, string[] Reasons);

    private static async Task<HealthAnswer> HealthAsync(TestNetwork net)
    {
        using var response = await net.Http.GetAsync(net.Url + "/-/health");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        return new HealthAnswer((int)response.StatusCode, root.GetProperty("status").GetString()!, root.GetProperty("serial").GetInt64(),
            [.. root.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)]);
    }
}
