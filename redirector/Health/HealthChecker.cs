using System.Collections.Concurrent;
using System.Globalization;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Selection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Redirector.Health;

/// <summary>
/// One round of active health checks. Rounds are numbered from the wall clock; for each live mirror
/// the redirector that wins <c>SET dl:h:{id}:lease:{round} NX PX</c> probes it, so with any number of
/// redirectors each mirror is probed once per round. Verdicts go to <c>dl:h:{id}</c> (ok, reason,
/// probe, latency) where every redirector's snapshot and the ops view read them; a flip is announced
/// on <c>dl:mirrors:changed</c> so a failing mirror is excluded at once.
/// </summary>
public sealed partial class HealthChecker : IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly IManifestSource _manifests;
    private readonly HealthOptions _options;
    private readonly int _panicPercent;

    /// <summary>
    /// Round in which this instance first saw each silent mirror without a heartbeat. Every instance reads
    /// every mirror each round (leases only decide who probes), so each one's view is complete.
    /// </summary>
    private readonly Dictionary<string, long> _silentSince = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ILogger<HealthChecker> _log;
    private readonly HttpClient _http;
    private readonly MirrorProber _prober;
    private readonly Random _random;
    private readonly string _instance;

    /// <summary>Creates the checker; <paramref name="random"/> is for tests (seeded), else shared.</summary>
    public HealthChecker(IConnectionMultiplexer redis, IManifestSource manifests, IOptions<HealthOptions> options,
        IOptions<RedirectorOptions> redirector, TimeProvider time, ILogger<HealthChecker> log, Random? random = null,
        RedirectorInstance? instance = null)
        : this(redis, manifests, options, redirector, time, log, random,
            new ProbeConnector(policy: new ProbeTargetPolicy(options.Value.AllowedNetworks)), instance)
    {
    }

    internal HealthChecker(IConnectionMultiplexer redis, IManifestSource manifests, IOptions<HealthOptions> options,
        IOptions<RedirectorOptions> redirector, TimeProvider time, ILogger<HealthChecker> log, Random? random, ProbeConnector connector,
        RedirectorInstance? instance = null)
    {
        _instance = (instance ?? new RedirectorInstance()).Id;
        _redis = redis;
        _manifests = manifests;
        _options = options.Value;
        _panicPercent = redirector.Value.HeartbeatPanicPercent;
        _time = time;
        _log = log;
        _random = random ?? Random.Shared;
        // No redirects followed: a mirror must serve the file itself. No connection reuse across
        // rounds beyond a minute, so a mirror's DNS change is seen. Names are resolved off the thread pool.
        // Probes are signed with each mirror's key (ProbeSigner), so a mirror full of clients still serves them.
        _http = new HttpClient(new ProbeSigner(time)
        {
            InnerHandler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(1),
                ConnectCallback = connector.ConnectAsync,
            },
        })
        {
            Timeout = _options.Timeout,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Downloads-HealthCheck/1");
        _prober = new MirrorProber(_http, time);
    }

    /// <summary>Number of the round at <paramref name="now"/>.</summary>
    public long RoundAt(DateTimeOffset now) => now.ToUnixTimeMilliseconds() / (long)Math.Max(1, _options.Interval.TotalMilliseconds);

    private void ForgetRemoved(IReadOnlyList<MirrorRecord> mirrors)
    {
        var ids = mirrors.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in _silentSince.Keys.Where(id => !ids.Contains(id)).ToList())
            _silentSince.Remove(id);
    }

    /// <summary>Runs the current round (one at a time): the verdicts of the mirrors this instance probed.</summary>
    public async Task<IReadOnlyList<HealthVerdict>> RunRoundAsync(CancellationToken cancellationToken = default)
    {
        var manifest = _manifests.Current;
        if (manifest is null)
            return [];
        var db = _redis.GetDatabase();
        var now = _time.GetUtcNow();
        var round = RoundAt(now);
        var mirrors = await MirrorStore.LoadAllAsync(db, now);
        // Most serving mirrors silent at once: Redis or the way to it, not the mirrors (HeartbeatPanic).
        // Probe them as usual instead of failing each for its lost heartbeat; a probe still fails a dead one.
        var panic = HeartbeatPanic.IsOn(mirrors, _panicPercent);
        bool Probed(MirrorRecord m) => m.Alive || (panic && Eligibility.WouldServe(m));

        var live = new List<MirrorRecord>(mirrors.Count);
        foreach (var m in mirrors)
        {
            if (m.HttpUrl.Length == 0 && m.HttpsUrl.Length == 0)
                continue;
            if (m.Alive)
                _silentSince.Remove(m.Id);
            else if (!_silentSince.ContainsKey(m.Id))
                _silentSince[m.Id] = round;
            if (Probed(m))
                live.Add(m); // silent ones too while most are (HeartbeatPanic)
            // A mirror that was serving and lost its heartbeat is marked failed, so when it comes back it is
            // probed for N good rounds before traffic returns (not trusted on its word) — once it has been
            // silent through a whole round: heartbeats lapse one by one over a report interval in a Redis
            // failover, and the early ones must not be failed before the panic threshold is passed, nor the
            // late ones while they reconnect after it.
            else if (_options.RecheckAfterDowntime && m.Healthy && m.Serial > 0 && _silentSince[m.Id] < round)
                live.Add(m);
        }
        if (_silentSince.Count > mirrors.Count)
            ForgetRemoved(mirrors);

        // One round trip for every lease, every previous good-round count and every mirror's probe key.
        var batch = db.CreateBatch();
        var leases = new (MirrorRecord Mirror, Task<bool> Lease, Task<RedisValue> Good, Task<RedisValue> Key)[live.Count];
        for (var i = 0; i < live.Count; i++)
        {
            var id = live[i].Id;
            leases[i] = (live[i], batch.StringSetAsync(MirrorHealthLease(id, round), _instance, _options.Interval * 2, When.NotExists),
                batch.HashGetAsync(MirrorHealth(id), HealthFields.GoodRounds), batch.HashGetAsync(MirrorState(id), StateFields.ProbeKey));
        }
        batch.Execute();
        var mine = new List<(MirrorRecord Mirror, int Good, byte[]? Key)>();
        foreach (var (mirror, lease, good, key) in leases)
        {
            if (await lease)
                mine.Add((mirror, (await good).TryParse(out int g) ? g : 0, ProbeToken.DecodeKey(await key)));
        }

        var verdicts = new ConcurrentBag<HealthVerdict>();
        await Parallel.ForEachAsync(mine, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken },
            async (item, ct) =>
            {
                using var timeout = new CancellationTokenSource(_options.Timeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                int seed;
                lock (_random)
                    seed = _random.Next();
                ProbeSigner.Use(item.Key);
                var result = Probed(item.Mirror)
                    ? await _prober.ProbeAsync(item.Mirror, manifest, new Random(seed), linked.Token)
                    : new ProbeResult(false, "heartbeat expired: it will be probed before it gets traffic again", "", 0);
                if (result is not null)
                    verdicts.Add(HealthVerdict.Judge(item.Mirror.Id, result, item.Mirror.Healthy, item.Good, _options.GoodRoundsToReadmit));
            });
        cancellationToken.ThrowIfCancellationRequested();

        var sorted = verdicts.OrderBy(v => v.Id, StringComparer.Ordinal).ToArray();
        await WriteAsync(db, sorted, now);
        return sorted;
    }

    private async Task WriteAsync(IDatabase db, HealthVerdict[] verdicts, DateTimeOffset now)
    {
        if (verdicts.Length == 0)
            return;
        var batch = db.CreateBatch();
        var writes = new List<Task>(verdicts.Length * 2);
        var checkedAt = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        foreach (var v in verdicts)
        {
            var fields = new List<HashEntry>
            {
                new(HealthFields.Ok, v.Healthy ? "1" : "0"),
                new(HealthFields.Checked, checkedAt),
                new(HealthFields.GoodRounds, v.GoodRounds),
                new(HealthFields.Probe, v.Result.Probe),
                new(HealthFields.LatencyMs, Math.Round(v.Result.LatencyMs)),
            };
            if (!v.Result.Ok)
            {
                fields.Add(new(HealthFields.Reason, v.Result.Reason));
                fields.Add(new(HealthFields.LastFailure, checkedAt));
            }
            else if (v.Healthy)
            {
                fields.Add(new(HealthFields.Reason, ""));
            }
            else
            {
                fields.Add(new(HealthFields.Reason, $"recovering: {v.GoodRounds}/{_options.GoodRoundsToReadmit} good rounds before readmission"));
            }
            writes.Add(batch.HashSetAsync(MirrorHealth(v.Id), fields.ToArray()));
            if (v.Changed)
                writes.Add(batch.PublishAsync(MirrorsChanged, v.Id));
        }
        batch.Execute();
        await Task.WhenAll(writes);
        foreach (var v in verdicts)
        {
            if (v.Changed && !v.Healthy)
                LogExcluded(_log, v.Id, v.Result.Reason);
            else if (v.Changed)
                LogReadmitted(_log, v.Id, v.GoodRounds);
            else if (!v.Result.Ok)
                LogStillFailing(_log, v.Id, v.Result.Reason);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = RedirectorEvents.HealthExcluded, Level = LogLevel.Warning, Message = "Mirror {Id} excluded by health check: {Reason}")]
    private static partial void LogExcluded(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = RedirectorEvents.HealthReadmitted, Level = LogLevel.Information, Message = "Mirror {Id} readmitted after {Rounds} good health-check rounds")]
    private static partial void LogReadmitted(ILogger logger, string id, int rounds);

    // Debug: a line per failing mirror per round, for as long as it is down; the exclusion (4201) and the
    // readmission (4202) are the changes ops need, and the reason stays on the mirror list and the dashboard.
    [LoggerMessage(EventId = RedirectorEvents.HealthStillFailing, Level = LogLevel.Debug, Message = "Mirror {Id} still failing health check: {Reason}")]
    private static partial void LogStillFailing(ILogger logger, string id, string reason);
}
