using System.Globalization;
using Downloads.Contracts.Redis;
using Downloads.Mirror.Limits;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Mirror.Reporting;

/// <summary>
/// Registers the mirror (its <c>info</c> hash) and writes its periodic report in one Redis
/// transaction. Bytes not yet reported (Redis down, a failed round trip) stay pending and go into the
/// next successful report, so the month counter loses nothing.
/// </summary>
/// <remarks>
/// Not <see cref="IDisposable"/>: the container disposes singletons when the host is disposed, which can
/// be while the final report is still waiting on Redis (a shutdown during a failover); a disposed gate then
/// threw from that report and failed the host with a stack trace. The gate never creates a wait handle, so
/// there is nothing to release.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "Disposing the gate under an in-flight report is the bug; a SemaphoreSlim without a wait handle holds no resource.")]
public sealed partial class MirrorReporter
{
    private readonly IConnectionMultiplexer _redis;
    private readonly MirrorOptions _mirror;
    private readonly ReportingOptions _options;
    private readonly TrafficCounters _counters;
    private readonly LiveTree _live;
    private readonly SyncStatus _sync;
    private readonly TimeProvider _time;
    private readonly ILogger<MirrorReporter> _log;
    private readonly ProbeKey? _probeKey;
    private readonly Staging.StagedCiphertexts? _staged;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _registered;
    private bool _monthRefused;
    private long _reportedBytes;
    private long _lastBytes;
    private long _lastTimestamp;
    private ReportState _state = ReportState.Reporting;

    /// <summary>Creates the reporter; <paramref name="probeKey"/> is published with every report, so redirectors can sign their probes.</summary>
    public MirrorReporter(IConnectionMultiplexer redis, IOptions<MirrorOptions> mirror, IOptions<ReportingOptions> options,
        TrafficCounters counters, LiveTree live, SyncStatus sync, TimeProvider time, ILogger<MirrorReporter> log, ProbeKey? probeKey = null, Staging.StagedCiphertexts? staged = null)
    {
        _probeKey = probeKey;
        _staged = staged;
        _redis = redis;
        _mirror = mirror.Value;
        _options = options.Value;
        _counters = counters;
        _live = live;
        _sync = sync;
        _time = time;
        _log = log;
        _lastTimestamp = time.GetTimestamp();
    }

    /// <summary>Whether the info hash has been written since start.</summary>
    public bool Registered => Volatile.Read(ref _registered);

    /// <summary>
    /// Writes the mirror's info hash and adds it to the mirror table. A mirror with its own ACL user
    /// may not touch the table (enrollment added it there), so NOPERM on that part is expected.
    /// </summary>
    public async Task RegisterAsync()
    {
        var db = _redis.GetDatabase();
        var id = _mirror.Id;
        await MirrorStore.WriteInfoAsync(db, id, MirrorInfo.From(_mirror));
        try
        {
            if (await db.SetAddAsync(Mirrors, id))
                LogJoined(_log, id);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOPERM", StringComparison.Ordinal))
        {
            // Enrolled mirrors are added to the table by the redirector; their user cannot write it.
        }
        var status = await db.HashGetAsync(MirrorConfig(id), ConfigFields.Status);
        LogRegistered(_log, id, status.IsNullOrEmpty ? "pending" : status.ToString());
        Volatile.Write(ref _registered, true);
    }

    /// <summary>Registers if needed, then writes one report. Returns false (and logs) when Redis failed.</summary>
    public async Task<bool> ReportOnceAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (!Registered)
                await RegisterAsync();
            var bytes = _counters.Bytes;
            var timestamp = _time.GetTimestamp();
            var seconds = _time.GetElapsedTime(_lastTimestamp, timestamp).TotalSeconds;
            var rate = seconds > 0 ? (bytes - _lastBytes) / seconds : 0;
            var state = new List<KeyValuePair<string, string>>(8)
            {
                new(StateFields.Serial, _live.Current.Serial.ToString(CultureInfo.InvariantCulture)),
                new(StateFields.BytesServed, bytes.ToString(CultureInfo.InvariantCulture)),
                new(StateFields.Requests, _counters.Requests.ToString(CultureInfo.InvariantCulture)),
                new(StateFields.Connections, _counters.OpenConnections.ToString(CultureInfo.InvariantCulture)),
                new(StateFields.RateBps, Math.Round(rate).ToString(CultureInfo.InvariantCulture)),
                new(StateFields.LastError, _sync.ReportedError(_live.Current, _time.GetUtcNow())),
                new(StateFields.Updated, _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
            };
            if (_probeKey is not null)
                state.Add(new(StateFields.ProbeKey, _probeKey.Encoded));
            if (_staged is not null)
            {
                var held = _staged.Held;
                state.Add(new(StateFields.Staged, string.Join(',', held.Count > StateFields.MaxStagedIds ? held.Take(StateFields.MaxStagedIds) : held)));
            }
            if (await ReportAsync([.. state], bytes - _reportedBytes))
                _reportedBytes = bytes;
            _lastBytes = bytes;
            _lastTimestamp = timestamp;
            if (_state == ReportState.WaitingForApproval)
                LogApproved(_log, _mirror.Id);
            else if (_state == ReportState.Failing)
                LogReportRecovered(_log, _mirror.Id);
            _state = ReportState.Reporting;
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // ObjectDisposedException: the host is being disposed with this report still waiting on Redis
            // (the connection goes with it); the report failed like any other.
            // Logged on a change of state only: a pending mirror is refused every interval until approval.
            var state = IsRefusedUser(e) ? ReportState.WaitingForApproval : ReportState.Failing;
            if (state != _state)
            {
                if (state == ReportState.WaitingForApproval)
                    LogWaitingForApproval(_log, _mirror.Id, e.Message);
                else
                    LogReportFailed(_log, _mirror.Id, e.Message);
            }
            _state = state;
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The report; true when the period's usage counter took the bytes. Its user is granted the counters period by
    /// period (ops' daily <c>sync-users</c>): when Redis refuses this month's key, the heartbeat and state still go
    /// in, without the counter, and the bytes wait for a later report, so a late re-grant never takes the mirror
    /// out of the network.
    /// </summary>
    private async Task<bool> ReportAsync(KeyValuePair<string, string>[] state, long delta)
    {
        var db = _redis.GetDatabase();
        // The billing day is ops' (its config, which its user may read): it names this period's usage counter.
        var billingDay = await MirrorStore.ReadBillingDayAsync(db, _mirror.Id);
        try
        {
            await MirrorStore.ReportAsync(db, _mirror.Id, state, _options.EffectiveHeartbeatTtl, delta, _time.GetUtcNow(), billingDay);
            _monthRefused = false;
            return true;
        }
        catch (RedisServerException e) when (Registered && (e.Message.Contains("NOPERM", StringComparison.Ordinal) || e.Message.Contains("EXECABORT", StringComparison.Ordinal)))
        {
            await MirrorStore.ReportAsync(db, _mirror.Id, state, _options.EffectiveHeartbeatTtl, 0, _time.GetUtcNow(), countMonth: false);
            if (!_monthRefused)
                LogMonthRefused(_log, _mirror.Id, e.Message);
            _monthRefused = true;
            return false;
        }
    }

    /// <summary>
    /// Whether Redis refused the mirror's user rather than failed: a wrong or switched-off user (a pending
    /// mirror's, until ops approve it) or a command outside its ACL.
    /// </summary>
    internal static bool IsRefusedUser(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure })
                return true;
            if (x.Message.Contains("NOPERM", StringComparison.Ordinal) || x.Message.Contains("AuthenticationFailure", StringComparison.Ordinal) || x.Message.Contains("WRONGPASS", StringComparison.Ordinal)
                || x.Message.Contains("NOAUTH", StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private enum ReportState
    {
        Reporting,
        WaitingForApproval,
        Failing,
    }

    [LoggerMessage(EventId = MirrorEvents.Joined, Level = LogLevel.Information, Message = "Mirror {Id} added itself to the mirror table")]
    private static partial void LogJoined(ILogger logger, string id);

    [LoggerMessage(EventId = MirrorEvents.Registered, Level = LogLevel.Information, Message = "Mirror {Id} registered its info; status: {Status} (a pending mirror gets no traffic until ops approve it)")]
    private static partial void LogRegistered(ILogger logger, string id, string status);

    [LoggerMessage(EventId = MirrorEvents.ReportFailed, Level = LogLevel.Warning, Message = "Mirror {Id} could not report to Redis: {Reason}; counts are kept for the next report (logged again only when this changes)")]
    private static partial void LogReportFailed(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = MirrorEvents.WaitingForApproval, Level = LogLevel.Information, Message = "Mirror {Id} is waiting for approval: Redis refuses its user until ops approve it ({Reason}); it keeps serving and counting, and reports once approved")]
    private static partial void LogWaitingForApproval(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = MirrorEvents.Approved, Level = LogLevel.Information, Message = "Mirror {Id} is approved: Redis accepts its user and reports go through; counts kept meanwhile are included")]
    private static partial void LogApproved(ILogger logger, string id);

    [LoggerMessage(EventId = MirrorEvents.MonthCounterRefused, Level = LogLevel.Warning, Message = "Mirror {Id}: Redis refused this month's transfer counter ({Reason}); heartbeat and state still go in, the bytes wait until ops grant the key (redirector mirrors sync-users)")]
    private static partial void LogMonthRefused(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = MirrorEvents.ReportRecovered, Level = LogLevel.Information, Message = "Mirror {Id} reports to Redis again; counts kept meanwhile are included")]
    private static partial void LogReportRecovered(ILogger logger, string id);
}
