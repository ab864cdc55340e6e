using Downloads.Mirror.Storage;

namespace Downloads.Mirror.Sync;

/// <summary>
/// What the sync engine is doing, read by reporting (to Redis) and logs. Written only by the engine;
/// fields are independent values, so plain volatile reads are enough.
/// </summary>
public sealed class SyncStatus
{
    private volatile string _lastError = "";
    private long _errors;
    private long _targetSerial;
    private long _bytesFetched;
    private long _passes;
    private long _heldBack;
    private double _lastPassSeconds;
    private double _lastPublishPassSeconds;

    /// <summary>Last sync error (one line), empty after a successful sync.</summary>
    public string LastError
    {
        get => _lastError;
        set
        {
            _lastError = value ?? "";
            if (_lastError.Length > 0)
                Interlocked.Increment(ref _errors);
        }
    }

    /// <summary>Sync failures recorded since start (each non-empty <see cref="LastError"/>), for metrics.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Serial the engine is currently syncing towards (0 when idle).</summary>
    public long TargetSerial { get => Interlocked.Read(ref _targetSerial); set => Interlocked.Exchange(ref _targetSerial, value); }

    /// <summary>Bytes fetched from upstream since start.</summary>
    public long BytesFetched => Interlocked.Read(ref _bytesFetched);

    /// <summary>Adds fetched bytes.</summary>
    public void AddFetched(long bytes) => Interlocked.Add(ref _bytesFetched, bytes);

    /// <summary>Sync passes completed since start (polls at an unchanged serial included).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>How long the last completed pass took, seconds.</summary>
    public double LastPassSeconds => Volatile.Read(ref _lastPassSeconds);

    /// <summary>How long the last pass that published a new serial took, seconds (0 before the first).</summary>
    public double LastPublishPassSeconds => Volatile.Read(ref _lastPublishPassSeconds);

    /// <summary>Which pinned key verified the live manifest (<see cref="PinnedKey.None"/> before the first).</summary>
    public Downloads.Contracts.Manifests.PinnedKey ManifestKey { get; set; }

    /// <summary>
    /// The serial of a newer manifest that arrived already expired and was not adopted (the live one had not expired,
    /// so it stays: the last good one), or 0.
    /// </summary>
    public long HeldBackExpired { get => Interlocked.Read(ref _heldBack); set => Interlocked.Exchange(ref _heldBack, value); }

    /// <summary>True while the live manifest has expired at <paramref name="now"/>, or a newer one was held back as expired.</summary>
    public bool ManifestExpired(LiveSnapshot live, DateTimeOffset now) =>
        HeldBackExpired != 0 || (live.Manifest is { } m && m.IsExpired(now));

    /// <summary>
    /// The one-line error the mirror reports (to Redis, so to <c>mirror status</c> and the ops view): the last sync
    /// error, or when there is none but the live manifest has expired, that.
    /// </summary>
    public string ReportedError(LiveSnapshot live, DateTimeOffset now) =>
        LastError.Length > 0 ? LastError : ExpiredNote(live, now) ?? "";

    /// <summary>A one-line note when the live manifest has expired at <paramref name="now"/>, else null.</summary>
    public static string? ExpiredNote(LiveSnapshot live, DateTimeOffset now) =>
        live.Manifest is { } m && m.IsExpired(now)
            ? $"manifest serial {m.Serial} expired at {m.Expires.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z; still serving it until upstream offers a newer one"
            : null;

    /// <summary>Records a completed pass; <paramref name="published"/> when it made a new serial live.</summary>
    public void PassDone(double seconds, bool published)
    {
        Volatile.Write(ref _lastPassSeconds, seconds);
        if (published)
            Volatile.Write(ref _lastPublishPassSeconds, seconds);
        Interlocked.Increment(ref _passes);
    }
}
