using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Ops;

/// <summary>
/// Samples today's statistics every <see cref="OpsOptions.SampleSeconds"/> (one pipelined read, so any
/// number of open dashboards cost Redis nothing more) and keeps the rates going; the dashboard's
/// <see cref="OpsView"/> (a row per mirror) is built from the latest sample and the in-memory snapshot
/// when someone asks for it, at most once per sample, not every round for nobody. Once a minute it also samples every mirror's bandwidth and, if it wins that
/// minute's lease (<see cref="Keyspace.HistoryLease"/>), appends the history: one writer per minute
/// however many redirectors run. When Redis is away the view keeps the last network-wide figures and
/// says so; local counting goes on in <see cref="CounterFlusher"/>.
/// </summary>
internal sealed partial class OpsSampler(
    SnapshotHolder holder, IConnectionMultiplexer redis, CounterFlusher flusher, RedirectorMetrics metrics,
    IOptions<OpsOptions> options, TimeProvider time, ILogger<OpsSampler> log, RedirectorInstance? instance = null,
    KestrelRejections? kestrel = null, IOptions<RedirectorOptions>? redirectorOptions = null) : BackgroundService
{
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(30);
    private readonly Queue<(DateTimeOffset Time, long Total)> _network = new();
    private readonly Queue<(DateTimeOffset Time, long Total)> _local = new();
    private readonly Queue<(DateTimeOffset Time, long Total)>[] _outcomeNetwork = NewQueues();
    private readonly Queue<(DateTimeOffset Time, long Total)>[] _outcomeLocal = NewQueues();
    private readonly Dictionary<string, (DateTimeOffset Time, long MonthBytes)> _previous = new(StringComparer.Ordinal);
    // Per mirror, the forecast warning as last logged: one line per state change, per billing period.
    private readonly Dictionary<string, ForecastLogState> _warned = new(StringComparer.Ordinal);
    /// <summary>A warning is logged as over only once the forecast has stayed inside the quota this long (no flapping lines).</summary>
    internal static readonly TimeSpan ForecastClearAfter = TimeSpan.FromMinutes(15);
    private readonly string _instance = (instance ?? new RedirectorInstance()).Id;
    private readonly Lock _viewLock = new();
    private Sample? _sample;
    private (Sample Sample, OpsView View)? _view;
    private Stats _lastStats = Stats.Empty;
    private IReadOnlyList<Staging.StagedCoverage> _staging = [];
    private long _lastMinute;
    private bool _failing;

    /// <summary>The view of the latest sample, built on first use and shared until the next sample.</summary>
    public OpsView Current
    {
        get
        {
            var sample = Volatile.Read(ref _sample);
            if (sample is null)
                return new OpsView { Time = time.GetUtcNow(), PollSeconds = options.Value.SampleSeconds, RedisError = "not sampled yet" };
            lock (_viewLock)
            {
                if (_view is { } cached && ReferenceEquals(cached.Sample, sample))
                    return cached.View;
                var view = Build(sample);
                _view = (sample, view);
                return view;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SampleSeconds), time);
        try
        {
            do
            {
                await SampleOnceAsync();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One round: statistics, view, and the minute's history when due.</summary>
    public async Task SampleOnceAsync()
    {
        var now = time.GetUtcNow();
        string error = "";
        try
        {
            _lastStats = await ReadStatsAsync(redis.GetDatabase(), now);
            _staging = await Staging.StagingCoverage.ReadAsync(redis.GetDatabase(), holder.Current.Mirrors.Select(m => m.Record),
                Staging.StagingCoverage.ParseExpected(options.Value.ExpectedSurgeGbps, out _) ?? []);
            _failing = false;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            error = ex.Message;
            if (!_failing)
                LogSampleFailed(log, ex.Message);
            _failing = true;
        }
        long total = 0;
        foreach (var e in _lastStats.Mirrors)
            total += e.Value.TryParse(out long v) ? v : 0;
        var local = metrics.Mirror.Peek() + metrics.Fallback.Peek();
        var outcomes = OutcomeTotals(_lastStats.Outcomes);
        var networkRates = new double[Outcomes.Count];
        var localRates = new double[Outcomes.Count];
        foreach (var outcome in Outcomes.All)
        {
            var i = (int)outcome;
            networkRates[i] = error.Length == 0 ? Rate(_outcomeNetwork[i], now, outcomes[i]) : 0;
            localRates[i] = Rate(_outcomeLocal[i], now, metrics.Answered(outcome).Peek());
        }
        Volatile.Write(ref _sample, new Sample(now, _lastStats, error, total,
            error.Length == 0 ? Rate(_network, now, total) : 0, Rate(_local, now, local), outcomes, networkRates, localRates));
        WarnQuotaForecasts(now);
        var minute = now.ToUnixTimeSeconds() / 60;
        if (minute != _lastMinute)
        {
            _lastMinute = minute;
            await WriteHistoryAsync(minute, now);
        }
    }

    /// <summary>
    /// Logs a warning when a mirror's quota becomes forecast to run out before its billing period ends, and a line when
    /// that is over (the forecast stayed inside the quota for <see cref="ForecastClearAfter"/>): one line per state
    /// change, and a new period starts afresh. The metric <c>downloads_mirror_quota_exhaustion_warning</c> says the
    /// state every scrape.
    /// </summary>
    private void WarnQuotaForecasts(DateTimeOffset now)
    {
        var mirrors = holder.Current.Mirrors;
        if (_warned.Count > mirrors.Length)
        {
            // A mirror was removed: forget it (the others keep their state).
            var ids = new HashSet<string>(mirrors.Select(e => e.Record.Id), StringComparer.Ordinal);
            foreach (var gone in _warned.Keys.Where(id => !ids.Contains(id)).ToList())
                _warned.Remove(gone);
        }
        foreach (var entry in mirrors)
        {
            var m = entry.Record;
            // Read once: the refresher may replace it while this runs.
            var forecast = entry.Forecast;
            var periodEnd = entry.PeriodEndOf(forecast);
            if (!_warned.TryGetValue(m.Id, out var state) || state.PeriodEnd != periodEnd)
                state = new ForecastLogState(periodEnd, Warned: false, ClearSince: null);
            if (forecast.Warning)
            {
                if (!state.Warned)
                    LogQuotaForecast(log, m.Id, forecast.RunsOutAt!.Value, periodEnd, Bandwidth.Mbps(forecast.RateBps), Basis(forecast),
                        m.MonthBytes / 1e9, m.QuotaBytes / 1e9);
                state = state with { Warned = true, ClearSince = null };
            }
            else if (state.Warned)
            {
                var since = state.ClearSince ?? now;
                state = state with { ClearSince = since };
                if (now - since >= ForecastClearAfter)
                {
                    LogQuotaForecastCleared(log, m.Id, periodEnd, Bandwidth.Mbps(forecast.RateBps), Basis(forecast),
                        m.MonthBytes / 1e9, m.QuotaBytes / 1e9);
                    state = state with { Warned = false, ClearSince = null };
                }
            }
            _warned[m.Id] = state;
        }
    }

    /// <summary>What a forecast's rate is, for the log: "over the last 55 min" or "its mean so far this period".</summary>
    private static string Basis(QuotaForecast forecast) => forecast.RecentBps is null
        ? "its mean so far this period"
        : $"over the last {forecast.RecentSpan.TotalMinutes.ToString("0", System.Globalization.CultureInfo.InvariantCulture)} min";

    /// <summary>A mirror's forecast warning as last logged, for its billing period ending <see cref="PeriodEnd"/>.</summary>
    private readonly record struct ForecastLogState(DateTimeOffset PeriodEnd, bool Warned, DateTimeOffset? ClearSince);

    private async Task WriteHistoryAsync(long minute, DateTimeOffset now)
    {
        // Sampled by every redirector so whichever wins the next lease has a previous reading.
        var points = new List<(string, double)>();
        var mirrors = holder.Current.Mirrors;
        if (_previous.Count > mirrors.Length)
            _previous.Clear(); // a mirror was removed: forget its reading (the others take one minute to re-learn)
        foreach (var entry in mirrors)
        {
            var m = entry.Record;
            var bps = m.RateBps;
            if (_previous.TryGetValue(m.Id, out var prev) && now - prev.Time is { TotalSeconds: > 10 and < 180 } elapsed
                && m.MonthBytes >= prev.MonthBytes && QuotaPeriod.At(now, m.BillingDay).Contains(prev.Time))
                bps = (m.MonthBytes - prev.MonthBytes) / elapsed.TotalSeconds;
            _previous[m.Id] = (now, m.MonthBytes);
            points.Add((m.Id, bps));
        }
        if (!options.Value.WriteHistory || points.Count == 0)
            return;
        try
        {
            var db = redis.GetDatabase();
            if (await db.StringSetAsync(Keyspace.HistoryLease(minute), _instance, Keyspace.HistoryLeaseTtl, When.NotExists))
                await BandwidthHistory.AppendMinuteAsync(db, minute, points);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // That minute's point is missing from the history; the chart shows a gap, nothing worse.
            LogHistoryFailed(log, ex.Message);
        }
    }

    private static async Task<Stats> ReadStatsAsync(IDatabase db, DateTimeOffset now)
    {
        var batch = db.CreateBatch();
        var mirrors = batch.HashGetAllAsync(Keyspace.StatsMirrors(now));
        var files = batch.HashGetAllAsync(Keyspace.StatsFiles(now));
        var countries = batch.HashGetAllAsync(Keyspace.StatsCountries(now));
        var addresses = batch.HyperLogLogLengthAsync(Keyspace.StatsAddresses(now));
        var outcomes = batch.HashGetAllAsync(Keyspace.StatsOutcomes(now));
        var keys = new RedisKey[Outcomes.Count];
        var perOutcome = new Task<long>[Outcomes.Count];
        foreach (var outcome in Outcomes.All)
        {
            keys[(int)outcome] = Keyspace.StatsOutcomeAddresses(now, Outcomes.Name(outcome));
            perOutcome[(int)outcome] = batch.HyperLogLogLengthAsync(keys[(int)outcome]);
        }
        // PFCOUNT of several keys counts their union: every distinct address that asked anything today.
        var everyone = batch.HyperLogLogLengthAsync(keys);
        batch.Execute();
        await Task.WhenAll(mirrors, files, countries, addresses, outcomes, everyone, Task.WhenAll(perOutcome));
        var outcomeAddresses = new long[Outcomes.Count];
        for (var i = 0; i < outcomeAddresses.Length; i++)
            outcomeAddresses[i] = await perOutcome[i];
        return new Stats(await mirrors, await files, await countries, await addresses, await outcomes, outcomeAddresses, await everyone);
    }

    private static long[] OutcomeTotals(HashEntry[] entries)
    {
        var totals = new long[Outcomes.Count];
        foreach (var outcome in Outcomes.All)
        {
            var name = Outcomes.Name(outcome);
            foreach (var e in entries)
            {
                if (e.Name == name && e.Value.TryParse(out long v))
                    totals[(int)outcome] = v;
            }
        }
        return totals;
    }

    private static Queue<(DateTimeOffset Time, long Total)>[] NewQueues()
    {
        var queues = new Queue<(DateTimeOffset Time, long Total)>[Outcomes.Count];
        for (var i = 0; i < queues.Length; i++)
            queues[i] = new Queue<(DateTimeOffset Time, long Total)>();
        return queues;
    }

    private static Dictionary<string, long> ToDictionary(HashEntry[] entries)
    {
        var d = new Dictionary<string, long>(entries.Length, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (e.Value.TryParse(out long v))
                d[e.Name.ToString()] = v;
        }
        return d;
    }

    private OpsView Build(Sample sample)
    {
        var (now, stats, redisError, total) = (sample.Time, sample.Stats, sample.RedisError, sample.Total);
        var byMirror = ToDictionary(stats.Mirrors);
        var snapshot = holder.Current;
        var mirrors = new List<MirrorView>(snapshot.Mirrors.Length);
        foreach (var entry in snapshot.Mirrors)
        {
            var m = entry.Record;
            var forecast = entry.Forecast;
            byMirror.TryGetValue(m.Id, out var redirects);
            mirrors.Add(new MirrorView
            {
                Id = m.Id,
                Name = m.Name,
                Status = m.Status == MirrorStatus.Approved ? "approved" : "pending",
                Enabled = m.Enabled,
                Draining = m.Draining,
                Alive = m.Alive,
                Healthy = m.Healthy,
                HealthReason = m.HealthReason,
                LastError = m.LastError,
                Exclusion = ExclusionText.Of(Eligibility.Standing(snapshot, entry)),
                RateBps = m.RateBps,
                CapacityBps = Bandwidth.BytesPerSecond(m.CapacityMbps),
                MonthBytes = m.MonthBytes,
                QuotaBytes = m.QuotaBytes,
                BillingDay = m.BillingDay,
                BurstPercent = m.BurstPercent >= 0 ? m.BurstPercent : (redirectorOptions?.Value ?? new RedirectorOptions()).QuotaBurstPercent,
                PeriodEnd = entry.PeriodEndOf(forecast),
                QuotaRunsOutAt = forecast.RunsOutAt,
                QuotaWarning = forecast.Warning,
                QuotaRecentBps = forecast.RecentBps,
                QuotaRecentMinutes = forecast.RecentSpan.TotalMinutes,
                QuotaMeanBps = forecast.MeanBps,
                QuotaForecastBasis = forecast.RecentBps is null ? "mean" : "recent",
                Serial = m.Serial,
                SerialsBehind = snapshot.Index.IsLoaded ? Math.Max(0, snapshot.Index.Serial - m.Serial) : 0,
                Connections = m.Connections,
                RedirectsToday = redirects,
                Share = total > 0 ? (double)redirects / total : 0,
            });
        }
        return new OpsView
        {
            Time = now,
            PollSeconds = options.Value.SampleSeconds,
            ManifestSerial = snapshot.Index.Serial,
            RedisAvailable = redisError.Length == 0,
            RedisError = redisError,
            RedirectsPerSecond = sample.NetworkRate,
            LocalRedirectsPerSecond = sample.LocalRate,
            RedirectsToday = total,
            UniqueAddressesToday = stats.Addresses,
            PendingRedirects = flusher.PendingRedirects,
            PendingRequests = flusher.PendingRequests,
            RequestsToday = Sum(sample.Outcomes, _ => true),
            DownloadsToday = Sum(sample.Outcomes, Outcomes.IsDownload),
            UniqueAddressesAllToday = stats.EveryAddress,
            Outcomes = [.. Outcomes.All.Select(o => new OutcomeView
            {
                Outcome = Outcomes.Name(o),
                Download = Outcomes.IsDownload(o),
                Today = sample.Outcomes[(int)o],
                PerSecond = sample.OutcomeRates[(int)o],
                LocalPerSecond = sample.LocalOutcomeRates[(int)o],
                LocalSinceStart = metrics.Answered(o).Peek(),
                UniqueAddressesToday = stats.OutcomeAddresses.Length > (int)o ? stats.OutcomeAddresses[(int)o] : 0,
            })],
            ServerRejections = kestrel?.Snapshot() ?? [],
            Mirrors = mirrors,
            Files = Top(ToDictionary(stats.Files), options.Value.Top),
            Countries = Top(ToDictionary(stats.Countries), options.Value.Top),
            Staging = _staging,
        };
    }

    /// <summary>Rate over the samples of the last <see cref="RateWindow"/>; a total that went down (a new day) restarts the window.</summary>
    private static double Rate<T>(Queue<(DateTimeOffset Time, T Total)> samples, DateTimeOffset now, T total)
        where T : System.Numerics.INumber<T>
    {
        if (samples.Count > 0 && total < samples.Last().Total)
            samples.Clear();
        samples.Enqueue((now, total));
        while (samples.Count > 2 && now - samples.Peek().Time > RateWindow)
            samples.Dequeue();
        var (first, value) = samples.Peek();
        var seconds = (now - first).TotalSeconds;
        return seconds > 0 ? double.CreateChecked(total - value) / seconds : 0;
    }

    private static CountEntry[] Top(Dictionary<string, long> counts, int n) =>
        [.. counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(n).Select(kv => new CountEntry(kv.Key, kv.Value))];

    private static long Sum(long[] totals, Func<Outcome, bool> which)
    {
        long sum = 0;
        foreach (var outcome in Outcomes.All)
        {
            if (which(outcome))
                sum += totals[(int)outcome];
        }
        return sum;
    }

    /// <summary>One round's reading: what a view is built from.</summary>
    private sealed record Sample(DateTimeOffset Time, Stats Stats, string RedisError, long Total, double NetworkRate, double LocalRate,
        long[] Outcomes, double[] OutcomeRates, double[] LocalOutcomeRates);

    /// <summary>Today's statistics as Redis returned them: turned into dictionaries only when a view is built.</summary>
    private sealed record Stats(HashEntry[] Mirrors, HashEntry[] Files, HashEntry[] Countries, long Addresses,
        HashEntry[] Outcomes, long[] OutcomeAddresses, long EveryAddress)
    {
        public static Stats Empty { get; } = new([], [], [], 0, [], [], 0);
    }

    [LoggerMessage(EventId = RedirectorEvents.OpsSampleFailed, Level = LogLevel.Warning, Message = "Dashboard could not read today's statistics from Redis; showing the last good figures: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = RedirectorEvents.HistoryWriteFailed, Level = LogLevel.Warning, Message = "Bandwidth history for this minute not written: {Reason}")]
    private static partial void LogHistoryFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = RedirectorEvents.QuotaExhaustionForecast, Level = LogLevel.Warning, Message = "Mirror {Id}: at its current rate ({RateMbps:0.#} Mbit/s, {Basis}) its quota runs out {RunsOut:u}, before its billing period ends {PeriodEnd:u} ({UsedGb:0.#} of {QuotaGb:0.#} GB used); its pace will throttle it (docs/launch-day.md)")]
    private static partial void LogQuotaForecast(ILogger logger, string id, DateTimeOffset runsOut, DateTimeOffset periodEnd, double rateMbps, string basis, double usedGb, double quotaGb);

    [LoggerMessage(EventId = RedirectorEvents.QuotaForecastCleared, Level = LogLevel.Information, Message = "Mirror {Id}: at its current rate ({RateMbps:0.#} Mbit/s, {Basis}) its quota lasts past its billing period's end {PeriodEnd:u} again ({UsedGb:0.#} of {QuotaGb:0.#} GB used)")]
    private static partial void LogQuotaForecastCleared(ILogger logger, string id, DateTimeOffset periodEnd, double rateMbps, string basis, double usedGb, double quotaGb);
}
