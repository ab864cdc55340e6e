using Microsoft.Extensions.Logging;

namespace Downloads.Mirror.Sync;

/// <summary>Progress of one sync: bytes verified of the total, logged periodically with rate and ETA.</summary>
public sealed partial class SyncProgress : IDisposable
{
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly ILogger _logger;
    private readonly long _serial;
    private readonly ITimer _timer;
    private long _done;
    private long _fetched;
    private int _corrupt;

    /// <summary>Starts tracking a sync to <paramref name="serial"/> of <paramref name="totalBytes"/>.</summary>
    public SyncProgress(long serial, long totalBytes, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        _serial = serial;
        TotalBytes = totalBytes;
        _time = time;
        _logger = logger;
        _startTimestamp = time.GetTimestamp();
        _timer = time.CreateTimer(_ => Report(), null, interval, interval);
    }

    /// <summary>Bytes the sync needs in all (including resumed ones).</summary>
    public long TotalBytes { get; }

    /// <summary>Bytes verified on disk so far (fetched or resumed).</summary>
    public long DoneBytes => Interlocked.Read(ref _done);

    /// <summary>Bytes received from upstream in this sync.</summary>
    public long FetchedBytes => Interlocked.Read(ref _fetched);

    /// <summary>Chunks that failed verification.</summary>
    public int CorruptChunks => Volatile.Read(ref _corrupt);

    /// <summary>Time since the sync started.</summary>
    public TimeSpan Elapsed => _time.GetElapsedTime(_startTimestamp);

    internal void AddDone(long bytes) => Interlocked.Add(ref _done, bytes);

    internal void AddFetched(long bytes) => Interlocked.Add(ref _fetched, bytes);

    internal void AddCorrupt() => Interlocked.Increment(ref _corrupt);

    /// <summary>Logs one progress line.</summary>
    public void Report()
    {
        var seconds = Math.Max(Elapsed.TotalSeconds, 0.001);
        var rate = FetchedBytes / seconds;
        var left = Math.Max(0, TotalBytes - DoneBytes);
        var eta = rate > 0 ? TimeSpan.FromSeconds(left / rate) : TimeSpan.Zero;
        Log.Progress(_logger, _serial, DoneBytes / 1048576.0, TotalBytes / 1048576.0, rate / 1048576.0, eta.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = MirrorEvents.SyncProgress, Level = LogLevel.Information, Message = "Sync to serial {Serial}: {DoneMiB:0.0}/{TotalMiB:0.0} MiB verified, {RateMiB:0.0} MiB/s, ETA {Eta}")]
        public static partial void Progress(ILogger logger, long serial, double doneMiB, double totalMiB, double rateMiB, string eta);
    }
}
