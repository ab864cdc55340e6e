using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Sync;

/// <summary>
/// One sync pass: fetch and verify the upstream manifest, fetch every carried file whose object is
/// missing, and only when all of them verified swap the live record and publish the new snapshot.
/// A failure leaves the previous serial live and keeps the verified chunks for the next pass.
/// Not thread-safe: <see cref="SyncWorker"/> runs one pass at a time.
/// </summary>
public sealed partial class SyncEngine(
    DiskStore store,
    LiveTree live,
    UpstreamClient upstream,
    FileFetcher fetcher,
    StagedCiphertexts staged,
    ReleaseWaits releases,
    SyncStatus status,
    IOptions<MirrorOptions> mirror,
    IOptions<SyncOptions> options,
    TimeProvider time,
    ILogger<SyncEngine> logger)
{
    // A chunk is held in memory while it is verified; refuse manifests that would make that unreasonable.
    private const int MaxChunkSize = 64 * 1024 * 1024;

    private readonly HighestSerial _highest = new(store.Root);
    private LiveRecord? _record;
    private long _refusedLogged = -1;
    private PinnedKey _verifiedBy;
    private long _expiredLogged = -1;

    /// <summary>Rebuilds the live snapshot from disk without fetching anything (at start).</summary>
    public void LoadFromDisk()
    {
        // Read now: a damaged highest-serial file stops the start (with how to fix it) rather than drop the floor.
        Log.Floor(logger, _highest.Value);
        var loaded = store.LoadLive(mirror.Value.Keys, out var error);
        if (loaded is not { } l)
        {
            if (error is not null)
                Log.LiveUnreadable(logger, error);
            return;
        }
        _record = l.Record;
        status.ManifestKey = l.Key;
        var snapshot = store.BuildSnapshot(l.Record, l.Manifest, l.Bytes, mirror.Value.SetList, time.GetUtcNow(), checkObjects: true);
        live.Publish(snapshot);
        Log.Loaded(logger, snapshot.Serial, snapshot.Files.Count);
    }

    /// <summary>When the earliest retired file expires, if any.</summary>
    public DateTimeOffset? NextExpiry
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var r in _record?.Retired ?? [])
                next = next is null || r.Until < next ? r.Until : next;
            return next;
        }
    }

    /// <summary>Runs one pass; returns true when the live serial is the upstream's (or the upstream is behind).</summary>
    public async Task<bool> RunOnceAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var serialBefore = live.Current.Serial;
        try
        {
            var ok = await SyncAsync(cancellationToken);
            if (ok)
                status.LastError = "";
            NoteExpiry();
            var elapsed = time.GetElapsedTime(started);
            status.PassDone(elapsed.TotalSeconds, live.Current.Serial != serialBefore);
            Log.PassDone(logger, live.Current.Serial, elapsed.TotalMilliseconds);
            return ok;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or UpstreamCorruptException or UpstreamMismatchException
            or UpstreamStatusException or CorruptChunkException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException
            or UnauthorizedAccessException)
        {
            Fail($"sync from {upstream.BaseAddress} failed: {ex.Message}");
            return false;
        }
        finally
        {
            status.TargetSerial = 0;
            releases.PassEnded();
        }
    }

    private async Task<bool> SyncAsync(CancellationToken cancellationToken)
    {
        var bytes = await upstream.GetBytesAsync(ManifestDefaults.ManifestPath.TrimStart('/'), cancellationToken);
        var signature = Encoding.ASCII.GetString(await upstream.GetBytesAsync(ManifestDefaults.SignaturePath.TrimStart('/'), cancellationToken)).Trim();
        var key = mirror.Value.Keys.Verify(bytes, signature);
        if (key == PinnedKey.None)
            return Fail($"manifest from {upstream.BaseAddress} rejected: its signature verifies against neither Mirror:PublicKey nor Mirror:NextPublicKey; keeping serial {live.Current.Serial}");
        var manifest = ManifestCodec.TryParse(bytes, out var parseError);
        if (manifest is null)
            return Fail($"manifest from {upstream.BaseAddress} rejected: {parseError}; keeping serial {live.Current.Serial}");
        if (manifest.ChunkSize > MaxChunkSize)
            return Fail($"manifest from {upstream.BaseAddress} rejected: chunk size {manifest.ChunkSize} is over {MaxChunkSize} bytes; keeping serial {live.Current.Serial}");

        var current = live.Current;
        var now = time.GetUtcNow();
        // The floor survives restarts and a lost live record: an older signed manifest (a replay, or an upstream
        // restored from a backup) is never accepted, however validly signed.
        // A live serial from before the floor file existed (an upgraded mirror) becomes the floor.
        await _highest.RaiseAsync(current.Serial, cancellationToken);
        var floor = _highest.Value;
        if (manifest.Serial < floor)
        {
            if (Interlocked.Exchange(ref _refusedLogged, manifest.Serial) != manifest.Serial)
                Log.UpstreamBehind(logger, manifest.Serial, floor);
            return true;
        }
        if (manifest.Serial > current.Serial && manifest.IsExpired(now) && current.Manifest is { } have && !have.IsExpired(now))
        {
            // Newer but already expired (an upstream that stopped re-signing, or an old signed copy replayed): the live
            // one is still within its expiry and stays, the last good one; flagged until a fresh one comes.
            status.HeldBackExpired = manifest.Serial;
            return Fail($"manifest serial {manifest.Serial} from {upstream.BaseAddress} expired at {manifest.Expires.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z; keeping serial {current.Serial} until upstream offers a fresh one");
        }
        status.HeldBackExpired = 0;
        _verifiedBy = key;
        if (manifest.Serial == current.Serial && _record is not null)
        {
            // Nothing new; only retired files may have expired.
            if (_record.Retired.Exists(r => r.Until <= now))
                await CommitAsync(_record.ManifestBase64, manifest, bytes, signature, [.. _record.Retired.Where(r => r.Until > now)], now, cancellationToken);
            else if (AnyCarriedMissing(current, manifest))
                return await FetchAndCommitAsync(manifest, bytes, signature, now, cancellationToken);
            return true;
        }
        return await FetchAndCommitAsync(manifest, bytes, signature, now, cancellationToken);
    }

    private async Task<bool> FetchAndCommitAsync(Manifest manifest, byte[] bytes, string signature, DateTimeOffset now, CancellationToken cancellationToken)
    {
        status.TargetSerial = manifest.Serial;
        var sets = mirror.Value.SetList;
        var wanted = new Dictionary<string, ManifestFile>(StringComparer.Ordinal);
        long total = 0;
        foreach (var file in manifest.Files)
        {
            if (DiskStore.Carries(sets, file.Path) && wanted.TryAdd(file.Sha256, file))
                total += file.Size;
        }
        var missing = wanted.Values.Where(f => !store.HasObject(f.Sha256, f.Size)).ToList();
        if (missing.Count > 0 && staged.Held.Count > 0)
        {
            // Released files whose ciphertext we hold are decrypted here, not downloaded: the origin wrote the key
            // into the staging list before this manifest, so a fresh read of the list has it.
            await staged.RefreshListAsync(cancellationToken);
            // Redirectors already send their clients here: those requests wait for these files, and get each as soon as
            // it is verified, ahead of the rest of the serial (ReleaseWaits).
            releases.Planned(PathsOf(manifest, missing.Where(staged.HoldsRelease)));
            var left = new List<ManifestFile>(missing.Count);
            foreach (var file in missing)
            {
                if (!staged.HoldsRelease(file))
                    left.Add(file);
                else if (await staged.TryMaterializeAsync(file, manifest.ChunkSize, cancellationToken))
                    ReleaseAhead(manifest, file);
                else
                {
                    left.Add(file);
                    FailRelease(manifest, file);
                }
            }
            missing = left;
        }
        releases.Planned([]);
        using var progress = new SyncProgress(manifest.Serial, missing.Sum(f => f.Size), options.Value.ProgressInterval, time, logger);
        Log.Starting(logger, manifest.Serial, upstream.BaseAddress, missing.Count, progress.TotalBytes, wanted.Count);
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Parallelism, CancellationToken = cancellationToken },
            async (file, ct) => await fetcher.FetchAsync(store, file, manifest.ChunkSize, progress, ct));
        if (missing.Count > 0)
            progress.Report();

        // Files gone from the new serial stay served for the grace period.
        var retired = new Dictionary<string, RetiredFile>(StringComparer.Ordinal);
        var carried = new HashSet<string>(manifest.Files.Where(f => DiskStore.Carries(sets, f.Path)).Select(f => f.Path), StringComparer.Ordinal);
        foreach (var r in _record?.Retired ?? [])
        {
            if (r.Until > now && !carried.Contains(r.File.Path))
                retired[r.File.Path] = r;
        }
        foreach (var (path, file) in live.Current.Files)
        {
            if (file.RetiredUntil is null && !carried.Contains(path))
                retired[path] = new RetiredFile(file.Entry, now + options.Value.DeleteGrace);
        }
        await CommitAsync(Convert.ToBase64String(bytes), manifest, bytes, signature, [.. retired.Values], now, cancellationToken);
        staged.ReleasesLive();
        await _highest.RaiseAsync(manifest.Serial, cancellationToken);
        Log.Synced(logger, manifest.Serial, progress.FetchedBytes, progress.Elapsed.TotalSeconds, retired.Count);
        return true;
    }

    private async Task CommitAsync(string manifestBase64, Manifest manifest, byte[] bytes, string signature, List<RetiredFile> retired, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = new LiveRecord { ManifestBase64 = manifestBase64, Signature = signature, Retired = retired };
        await store.SaveLiveAsync(record, cancellationToken);
        _record = record;
        var snapshot = store.BuildSnapshot(record, manifest, bytes, mirror.Value.SetList, now, checkObjects: false);
        live.Publish(snapshot);
        status.ManifestKey = _verifiedBy;
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in snapshot.Files.Values)
            keep.Add(file.Entry.Sha256);
        var removed = store.CollectGarbage(keep);
        Log.Published(logger, manifest.Serial, snapshot.Files.Count, retired.Count, removed);
    }

    /// <summary>Every carried path of the manifest with the content of <paramref name="files"/> (one object may serve several paths).</summary>
    private List<string> PathsOf(Manifest manifest, IEnumerable<ManifestFile> files)
    {
        var hashes = new HashSet<string>(files.Select(f => f.Sha256), StringComparer.Ordinal);
        var paths = new List<string>();
        foreach (var file in manifest.Files)
        {
            if (hashes.Contains(file.Sha256) && DiskStore.Carries(mirror.Value.SetList, file.Path))
                paths.Add(file.Path);
        }
        return paths;
    }

    /// <summary>A released file decrypted and verified against this serial's signed entry: its paths are served from now on.</summary>
    private void ReleaseAhead(Manifest manifest, ManifestFile released)
    {
        foreach (var file in manifest.Files)
        {
            if (file.Sha256 == released.Sha256 && DiskStore.Carries(mirror.Value.SetList, file.Path))
                releases.Ready(file.Path, new LiveFile(file, store.ObjectPath(file.Sha256)));
        }
    }

    private void FailRelease(Manifest manifest, ManifestFile released)
    {
        foreach (var file in manifest.Files)
        {
            if (file.Sha256 == released.Sha256)
                releases.Failed(file.Path);
        }
    }

    // After a restart some objects may be gone from disk; the snapshot then lacks them and they are refetched.
    private bool AnyCarriedMissing(LiveSnapshot current, Manifest manifest)
    {
        foreach (var file in manifest.Files)
        {
            if (DiskStore.Carries(mirror.Value.SetList, file.Path) && (!current.Files.TryGetValue(file.Path, out var have) || have.RetiredUntil is not null))
                return true;
        }
        return false;
    }

    /// <summary>Logs once per serial that the live manifest has expired (it keeps being served; metrics and status flag it).</summary>
    private void NoteExpiry()
    {
        if (live.Current.Manifest is { } m && m.IsExpired(time.GetUtcNow()) && _expiredLogged != m.Serial)
        {
            _expiredLogged = m.Serial;
            Log.Expired(logger, m.Serial, m.Expires);
        }
    }

    private bool Fail(string message)
    {
        status.LastError = message;
        Log.Failed(logger, message);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = MirrorEvents.LiveLoaded, Level = LogLevel.Information, Message = "Loaded serial {Serial} from disk ({Files} files), nothing fetched")]
        public static partial void Loaded(ILogger logger, long serial, int files);

        [LoggerMessage(EventId = MirrorEvents.LiveUnreadable, Level = LogLevel.Warning, Message = "Live state on disk not used: {Error}")]
        public static partial void LiveUnreadable(ILogger logger, string error);

        [LoggerMessage(EventId = MirrorEvents.SyncStarting, Level = LogLevel.Information, Message = "Syncing serial {Serial} from {Upstream}: {Missing} files ({Bytes} bytes) to fetch of {Wanted} carried")]
        public static partial void Starting(ILogger logger, long serial, Uri upstream, int missing, long bytes, int wanted);

        [LoggerMessage(EventId = MirrorEvents.Synced, Level = LogLevel.Information, Message = "Serial {Serial} verified and live: {Fetched} bytes fetched in {Seconds:0.00} s, {Retired} files in delete grace")]
        public static partial void Synced(ILogger logger, long serial, long fetched, double seconds, int retired);

        [LoggerMessage(EventId = MirrorEvents.SyncFailed, Level = LogLevel.Error, Message = "{Message}")]
        public static partial void Failed(ILogger logger, string message);

        [LoggerMessage(EventId = MirrorEvents.SyncPassDone, Level = LogLevel.Debug, Message = "Sync pass done at serial {Serial} in {Ms:0.0} ms")]
        public static partial void PassDone(ILogger logger, long serial, double ms);

        [LoggerMessage(EventId = MirrorEvents.UpstreamBehind, Level = LogLevel.Warning, Message = "Upstream offers serial {Upstream}, older than serial {Live} already accepted; refused, keeping ours (logged once per serial)")]
        public static partial void UpstreamBehind(ILogger logger, long upstream, long live);

        [LoggerMessage(EventId = MirrorEvents.SerialFloor, Level = LogLevel.Debug, Message = "Highest serial accepted so far: {Serial}")]
        public static partial void Floor(ILogger logger, long serial);

        [LoggerMessage(EventId = MirrorEvents.ManifestExpired, Level = LogLevel.Warning, Message = "Manifest serial {Serial} expired at {Expires:O}; still serving it, flagged in metrics and status, until upstream offers a newer one")]
        public static partial void Expired(ILogger logger, long serial, DateTimeOffset expires);

        [LoggerMessage(EventId = MirrorEvents.SerialPublished, Level = LogLevel.Information, Message = "Published serial {Serial}: {Files} servable files ({Retired} retired), {Removed} stale files removed")]
        public static partial void Published(ILogger logger, long serial, int files, int retired, int removed);
    }
}
