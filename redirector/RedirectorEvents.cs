namespace Downloads.Redirector;

/// <summary>
/// Log event ids of the redirector, all in this one table so they stay unique (a test reflects over every
/// <c>[LoggerMessage]</c> in the assembly and fails on a duplicate). Ranges by concern: 40xx snapshots,
/// counting and ops, 41xx membership, 42xx health checks, 43xx geo.
/// </summary>
internal static class RedirectorEvents
{
    public const int SnapshotBuilt = 4001;
    public const int MirrorsLoadFailed = 4002;
    public const int ManifestFetchFailed = 4003;
    public const int ManifestRejected = 4004;
    public const int ManifestLoaded = 4005;
    // 4750-4769: the last good state kept in Redirector:StateDir (issue #15 §7, §10).
    public const int StateLoaded = 4750;
    public const int StateRefused = 4751;
    public const int StateSaveFailed = 4752;
    public const int StateDirUnset = 4753;
    public const int StateSuperseded = 4754;
    public const int StateManifestRefused = 4755;
    public const int ManifestExpired = 4770;
    public const int ManifestHeldBack = 4771;
    public const int SubscribeFailed = 4006;
    public const int HeartbeatPanicOn = 4007;
    public const int HeartbeatPanicOff = 4008;
    public const int HeartbeatPanicExpired = 4009;
    public const int CounterFlushFailed = 4010;
    public const int CounterFlushRecovered = 4011;
    public const int CounterBatchAlreadyApplied = 4012;
    public const int CounterReplicaUnconfirmed = 4013;
    public const int CounterReplicaConfirmed = 4014;
    public const int HistoryWriteFailed = 4030;
    public const int OpsSampleFailed = 4031;
    public const int ChecksumSignatureMismatch = 4040;

    public const int TokenIssued = 4101;
    public const int MirrorEnrolled = 4102;
    public const int AclRefused = 4103;
    public const int MirrorApproved = 4104;
    public const int MirrorFieldSet = 4105;
    public const int MirrorRemoved = 4106;
    public const int NeedsOpsPath = 4600;
    public const int MirrorUsersSynced = 4601;

    public const int HealthExcluded = 4201;
    public const int HealthReadmitted = 4202;
    public const int HealthStillFailing = 4203;
    public const int HealthRoundSkipped = 4204;

    public const int GeoLoaded = 4301;
    public const int GeoLoadFailed = 4302;
    public const int GeoNoDatabases = 4303;
    public const int GeoUsingSamples = 4304;

    // 4500-4549: approved records, mirror info validation, probe targets (issue #15 §2, §5, §14).
    public const int MirrorChangeApproved = 4500;
    public const int MirrorRecordProblem = 4501;
    public const int MirrorRecordFixed = 4502;
    public const int AdminListenerSeparate = 4550;
    public const int AdminRequestRefused = 4551;

    // 4850-4899: quota pacing per billing period, forecast (issue #14 §2).
    public const int QuotaExhaustionForecast = 4850;
    public const int BillingDayRegrantPending = 4851;
    public const int QuotaForecastCleared = 4852;

    // 4870-4879: the first seconds of a staged release (issue #14 §1).
    public const int StagedReleaseSeen = 4870;
    public const int StagingListUnusable = 4871;
}
