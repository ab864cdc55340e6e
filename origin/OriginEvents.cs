namespace Downloads.Origin;

/// <summary>
/// Log event ids of the origin, all in this one table so they stay unique (a test reflects over every
/// <c>[LoggerMessage]</c> in the assembly and fails on a duplicate). 10xx publishing, 103x limits, 12xx staging.
/// </summary>
internal static class OriginEvents
{
    public const int Published = 1001;
    public const int SkippedPath = 1002;
    public const int SkippedLink = 1003;
    public const int SkippedFolderLink = 1004;
    public const int Serving = 1010;
    public const int LoadFailed = 1011;
    public const int Announced = 1020;
    public const int NotAnnounced = 1021;
    public const int Shedding = 1030;
    public const int Staged = 1200;
    public const int ReleaseMoved = 1201;
    public const int ReleaseCancelled = 1202;
    public const int Released = 1203;
    public const int ReleaseFailed = 1204;
    public const int NoStagingList = 1205;
    public const int Resigned = 1150;
    public const int ResignFailed = 1151;
}
