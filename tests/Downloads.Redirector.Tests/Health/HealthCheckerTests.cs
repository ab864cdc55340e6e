using System.Globalization;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Health;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Health;

public sealed class HealthCheckerTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private const int ChunkSize = 16 * 1024;
    private readonly ManualTime _time = new(DateTimeOffset.Parse("2026-11-26T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly ManifestHolder _manifest = new();
    private readonly Dictionary<string, byte[]> _files = new()
    {
        // One chunk only, so the single wrong byte of a lying mirror is inside whatever range is probed.
        ["noobs/one.img"] = Bytes(10_000, 1),
    };

    public async Task InitializeAsync()
    {
        await redis.FlushAsync();
        var entries = new List<ManifestFile>();
        foreach (var (path, bytes) in _files)
        {
            var (sha, chunks, length) = await FileHasher.HashAsync(new MemoryStream(bytes), ChunkSize);
            entries.Add(new ManifestFile { Path = path, Size = length, Sha256 = sha, Chunks = chunks, ChangedAt = 5 });
        }
        _manifest.Current = new Manifest { Serial = 5, ChunkSize = ChunkSize, Files = entries };
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static byte[] Bytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private HealthChecker Checker(int goodRounds = 3, int panicPercent = 50, bool recheckAfterDowntime = true) => new(redis.Admin, _manifest,
        Options.Create(new HealthOptions
        {
            Interval = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(10), GoodRoundsToReadmit = goodRounds,
            RecheckAfterDowntime = recheckAfterDowntime, AllowedNetworks = RedirectorArgs.ProbeAllowedNetworks,
        }),
        Options.Create(new RedirectorOptions { HeartbeatPanicPercent = panicPercent }), _time, NullLogger<HealthChecker>.Instance, new Random(7));

    private async Task AddMirrorAsync(string id, string url, long serial = 5, bool alive = true)
    {
        var db = redis.Admin.GetDatabase();
        await MirrorStore.AddAsync(db, id);
        await MirrorStore.WriteInfoAsync(db, id, [new(Keyspace.InfoFields.HttpUrl, url), new(Keyspace.InfoFields.Sets, "noobs")]);
        await TestMirrors.ApproveInfoAsync(db, id); // the prober probes approved URLs only
        await db.HashSetAsync(Keyspace.MirrorState(id), Keyspace.StateFields.Serial, serial);
        if (alive)
            await db.StringSetAsync(Keyspace.MirrorAlive(id), _time.GetUtcNow().ToUnixTimeSeconds(), TimeSpan.FromMinutes(5)); // a heartbeat holds its time
    }

    private async Task<MirrorRecord> RecordAsync(string id) =>
        (await MirrorStore.LoadAllAsync(redis.Admin.GetDatabase(), _time.GetUtcNow())).Single(m => m.Id == id);

    [Fact]
    public async Task A_mirror_serving_a_wrong_byte_in_the_probed_range_is_excluded_at_once_and_a_good_one_passes()
    {
        await using var good = new FakeMirror(_files);
        await using var liar = new FakeMirror(_files) { Lie = true };
        await good.StartAsync();
        await liar.StartAsync();
        await AddMirrorAsync("good", good.Url);
        await AddMirrorAsync("liar", liar.Url);
        using var checker = Checker();

        var verdicts = await checker.RunRoundAsync();

        Assert.Equal(["good", "liar"], verdicts.Select(v => v.Id));
        Assert.True((await RecordAsync("good")).Healthy);
        var excluded = await RecordAsync("liar");
        Assert.False(excluded.Healthy);
        Assert.Contains("chunk hash", excluded.HealthReason);
        Assert.Equal(1, liar.Heads);
        Assert.Equal(1, liar.Gets);
        var health = await redis.Admin.GetDatabase().HashGetAllAsync(Keyspace.MirrorHealth("liar"));
        Assert.Contains(health, e => e.Name == Keyspace.HealthFields.Probe && e.Value.ToString().Contains("bytes=0-9999", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Mirror_host_names_are_resolved_off_the_thread_pool_and_a_failed_lookup_is_a_reason()
    {
        // getaddrinfo blocks; a round of lookups on pool threads once stalled every redirect for seconds.
        await using var mirror = new FakeMirror(_files);
        await mirror.StartAsync();
        await AddMirrorAsync("named", $"http://mirror-by-name.test:{mirror.Port}");
        await AddMirrorAsync("unknown", "http://no-such-mirror.test:1");
        var lookups = new System.Collections.Concurrent.ConcurrentQueue<(string Host, bool OnPool)>();
        var connector = new ProbeConnector(host =>
        {
            lookups.Enqueue((host, Thread.CurrentThread.IsThreadPoolThread));
            return host == "mirror-by-name.test"
                ? [System.Net.IPAddress.Loopback]
                : throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);
        }, new ProbeTargetPolicy(RedirectorArgs.ProbeAllowedNetworks));
        using var checker = new HealthChecker(redis.Admin, _manifest,
            Options.Create(new HealthOptions { Interval = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(10) }),
            Options.Create(new RedirectorOptions()), _time, NullLogger<HealthChecker>.Instance, new Random(7), connector);

        var verdicts = await checker.RunRoundAsync();

        Assert.Equal(["named", "unknown"], verdicts.Select(v => v.Id));
        Assert.True(verdicts[0].Result.Ok, verdicts[0].Result.Reason);
        Assert.False(verdicts[1].Result.Ok);
        Assert.Contains("no-such-mirror.test", verdicts[1].Result.Reason);
        Assert.Contains(lookups, l => l.Host == "mirror-by-name.test");
        Assert.Contains(lookups, l => l.Host == "no-such-mirror.test");
        Assert.All(lookups, l => Assert.False(l.OnPool, $"{l.Host} was resolved on a thread-pool thread"));
        Assert.True(mirror.Heads >= 1);
    }

    [Fact]
    public async Task An_excluded_mirror_is_readmitted_only_after_N_good_rounds()
    {
        await using var mirror = new FakeMirror(_files) { Lie = true };
        await mirror.StartAsync();
        await AddMirrorAsync("flaky", mirror.Url);
        using var checker = Checker(goodRounds: 3);

        await checker.RunRoundAsync();
        Assert.False((await RecordAsync("flaky")).Healthy);

        mirror.Lie = false;
        for (var round = 1; round <= 2; round++)
        {
            _time.Advance(TimeSpan.FromSeconds(30));
            var v = Assert.Single(await checker.RunRoundAsync());
            Assert.True(v.Result.Ok);
            var record = await RecordAsync("flaky");
            Assert.False(record.Healthy);
            Assert.Contains($"{round}/3", record.HealthReason);
        }
        _time.Advance(TimeSpan.FromSeconds(30));
        var readmitted = Assert.Single(await checker.RunRoundAsync());
        Assert.True(readmitted.Changed);
        Assert.True((await RecordAsync("flaky")).Healthy);
    }

    [Fact]
    public async Task Two_redirectors_probe_each_mirror_once_per_round()
    {
        await using var mirror = new FakeMirror(_files);
        await mirror.StartAsync();
        await AddMirrorAsync("shared", mirror.Url);
        using var first = Checker();
        using var second = Checker();

        var a = await first.RunRoundAsync();
        var b = await second.RunRoundAsync();
        Assert.Single(a);
        Assert.Empty(b);
        Assert.Equal(1, mirror.Heads);
        Assert.Equal(1, mirror.Gets);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Single(await second.RunRoundAsync());
        Assert.Empty(await first.RunRoundAsync());
        Assert.Equal(2, mirror.Heads);
    }

    [Fact]
    public async Task Missing_file_and_unreachable_mirror_are_excluded_with_a_reason_and_unsynced_or_dead_ones_are_not_probed()
    {
        await using var empty = new FakeMirror(new Dictionary<string, byte[]>());
        await empty.StartAsync();
        await AddMirrorAsync("empty", empty.Url);
        await AddMirrorAsync("gone", $"http://127.0.0.1:{FreePort.Next()}");
        await AddMirrorAsync("unsynced", empty.Url, serial: 4);
        await AddMirrorAsync("dead", empty.Url, alive: false);
        using var checker = Checker();

        var verdicts = await checker.RunRoundAsync();

        Assert.Equal(["empty", "gone"], verdicts.Select(v => v.Id));
        Assert.Contains("404", (await RecordAsync("empty")).HealthReason);
        Assert.False((await RecordAsync("gone")).Healthy);
        Assert.True((await RecordAsync("unsynced")).Healthy);
        Assert.Equal(1, empty.Heads);

        // "dead" is never probed (no request reaches its host); silent through a whole round it is marked,
        // so it is re-checked when it returns.
        _time.Advance(TimeSpan.FromSeconds(30));
        verdicts = await checker.RunRoundAsync();
        Assert.Equal(["dead", "empty", "gone"], verdicts.Select(v => v.Id));
        Assert.Contains("heartbeat", (await RecordAsync("dead")).HealthReason);
        Assert.Equal(2, empty.Heads);
    }

    [Fact]
    public async Task A_mirror_that_lost_its_heartbeat_is_probed_for_N_rounds_before_it_is_readmitted()
    {
        await using var mirror = new FakeMirror(_files);
        await mirror.StartAsync();
        await AddMirrorAsync("napper", mirror.Url, alive: false);
        using var checker = Checker(goodRounds: 2);

        // Seen silent once: not failed yet (heartbeats lapse one by one in a Redis failover); silent
        // through a whole round: failed without a probe.
        Assert.Empty(await checker.RunRoundAsync());
        Assert.True((await RecordAsync("napper")).Healthy);
        _time.Advance(TimeSpan.FromSeconds(30));
        var down = Assert.Single(await checker.RunRoundAsync());
        Assert.False(down.Healthy);
        Assert.Contains("heartbeat", (await RecordAsync("napper")).HealthReason);
        Assert.Equal(0, mirror.Heads);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(await checker.RunRoundAsync());

        await redis.Admin.GetDatabase().StringSetAsync(Keyspace.MirrorAlive("napper"), _time.GetUtcNow().ToUnixTimeSeconds(), TimeSpan.FromMinutes(5));
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.False(Assert.Single(await checker.RunRoundAsync()).Healthy);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(Assert.Single(await checker.RunRoundAsync()).Healthy);
        Assert.True((await RecordAsync("napper")).Healthy);
    }

    [Theory]
    [InlineData(50, true)]
    [InlineData(50, false)]
    [InlineData(0, true)]
    public async Task When_most_serving_mirrors_lose_their_heartbeat_at_once_they_are_probed_not_failed_for_it(int panicPercent, bool recheckAfterDowntime)
    {
        // After a Redis failover the new master has dropped the heartbeats that expired meanwhile: three of
        // four approved mirrors are silent. One of the silent ones is really dead (refuses connections).
        await using var mirror = new FakeMirror(_files);
        await mirror.StartAsync();
        var db = redis.Admin.GetDatabase();
        foreach (var (id, url, alive) in new[] { ("a", mirror.Url, true), ("b", mirror.Url, false), ("c", mirror.Url, false), ("dead", "http://127.0.0.1:1", false) })
        {
            await AddMirrorAsync(id, url, alive: alive);
            await db.HashSetAsync(Keyspace.MirrorConfig(id), Keyspace.ConfigFields.Status, "approved");
        }
        using var checker = Checker(panicPercent: panicPercent, recheckAfterDowntime: recheckAfterDowntime);

        var verdicts = (await checker.RunRoundAsync()).ToDictionary(v => v.Id);

        Assert.True(verdicts["a"].Healthy);
        if (panicPercent > 0)
        {
            // Probed like live ones (whether or not comebacks are re-checked): the two serving ones pass,
            // the dead one fails for what it is.
            Assert.True(verdicts["b"].Healthy, verdicts["b"].Result.Reason);
            Assert.True(verdicts["c"].Healthy, verdicts["c"].Result.Reason);
            Assert.False(verdicts["dead"].Healthy);
            Assert.DoesNotContain("heartbeat", verdicts["dead"].Result.Reason, StringComparison.Ordinal);
            Assert.True(mirror.Heads >= 3);
        }
        else
        {
            // Rule off: silent mirrors are not probed; seen silent once they are left alone, silent through
            // a whole round they are failed for the heartbeat and must earn their way back.
            Assert.Equal(["a"], verdicts.Keys);
            _time.Advance(TimeSpan.FromSeconds(30));
            verdicts = (await checker.RunRoundAsync()).ToDictionary(v => v.Id);
            Assert.All(new[] { "b", "c", "dead" }, id => Assert.Contains("heartbeat", verdicts[id].Result.Reason, StringComparison.Ordinal));
            Assert.Equal(2, mirror.Heads); // "a", once a round
        }
    }

    private sealed class ManifestHolder : IManifestSource
    {
        public Manifest? Current { get; set; }
    }

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
