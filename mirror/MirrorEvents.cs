namespace Downloads.Mirror;

/// <summary>
/// Log event ids of the mirror, all in this one table so they stay unique (a test reflects over every
/// <c>[LoggerMessage]</c> in the assembly and fails on a duplicate). 20xx sync, 31xx reporting, 32xx enrollment, 33xx and 37xx limits, 385x staging.
/// </summary>
internal static class MirrorEvents
{
    public const int UpstreamRetrying = 2001;
    public const int UpstreamCircuitOpened = 2002;
    public const int FileFetched = 2010;
    public const int CorruptChunk = 2011;
    public const int SyncProgress = 2020;
    public const int LiveLoaded = 2030;
    public const int LiveUnreadable = 2031;
    public const int SyncStarting = 2032;
    public const int Synced = 2033;
    public const int SyncFailed = 2034;
    public const int UpstreamBehind = 2035;
    public const int ManifestExpired = 3800;
    public const int SerialFloor = 3801;
    public const int SerialPublished = 2036;
    public const int SyncPassDone = 2037;
    public const int SerialAnnounced = 2040;
    public const int NotSubscribed = 2041;
    public const int SyncPassCrashed = 2042;

    public const int Joined = 3101;
    public const int Registered = 3102;
    public const int ReportFailed = 3103;
    public const int WaitingForApproval = 3104;
    public const int Approved = 3105;
    public const int ReportRecovered = 3106;

    public const int ConfiguredUser = 3201;
    public const int NoCredentials = 3202;
    public const int SharedUser = 3203;
    public const int OwnUser = 3204;
    public const int Enrolled = 3205;
    public const int EnrollmentRetry = 3206;
    public const int MonthCounterRefused = 3600;

    public const int ConnectionRefused = 3301;

    public const int AddressConnectionRefused = 3700;

    public const int StagedFetched = 3850;
    public const int StagingShortfall = 3851;
    public const int MirrorKeyListRefused = 3820;
    public const int StagingFailed = 3852;
    public const int StagedPurged = 3853;
    public const int StagedMaterialized = 3854;
    public const int StagedDecryptFailed = 3855;
    public const int StagingCrashed = 3856;

    // 3860-3869: the first seconds of a staged release, resumed ciphertext fetches (issue #14 §1).
    public const int StagedFetchResumed = 3860;
}
