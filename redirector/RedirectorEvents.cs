namespace Downloads.Redirector;

/// <summary>Log event ids of the redirector, in one place so they stay unique (Health/ uses 4100–4199).</summary>
internal static class RedirectorEvents
{
    public const int SnapshotBuilt = 4001;
    public const int MirrorsLoadFailed = 4002;
    public const int ManifestFetchFailed = 4003;
    public const int ManifestRejected = 4004;
    public const int ManifestLoaded = 4005;
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
    public const int NoCandidate = 4020;
    public const int BadRequestPath = 4021;
    public const int ChecksumSignatureMismatch = 4040;
}
