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
}
