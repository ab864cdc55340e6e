using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Staging;
using Downloads.Origin.Publishing;
using Microsoft.Extensions.Logging;

namespace Downloads.Origin.Staging;

/// <summary>What a release pass did.</summary>
/// <param name="Released">Files released.</param>
/// <param name="Publication">The manifest published with them, or null when nothing was due.</param>
public sealed record ReleaseResult(int Released, PublishResult? Publication);

/// <summary>
/// Stages, moves, cancels and releases secret files. The plaintext stays in the private staging folder, out of
/// <c>Origin:Root</c>, until its time; mirrors see only the ciphertext under an opaque id. At release the key goes
/// into the signed staging list first and the file into the manifest second, so a mirror that sees the manifest
/// entry can already decrypt. One writer at a time (a lock file in the staging folder).
/// </summary>
public sealed partial class Stager(OriginOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>How long a released id (and its key) stays in the list, for mirrors that were offline at the time.</summary>
    public static readonly TimeSpan ReleasedRetention = TimeSpan.FromDays(7);

    private readonly StagingFolder _folder = new(Path.GetFullPath(options.StateDir));

    /// <summary>The staging folder.</summary>
    public StagingFolder Folder => _folder;

    /// <summary>Stages <paramref name="source"/> to become <paramref name="path"/> at <paramref name="releaseAt"/>.</summary>
    public async Task<StagedRecord> StageAsync(string source, string path, DateTimeOffset releaseAt, CancellationToken cancellationToken = default)
    {
        if (!ManifestPaths.IsValid(path) || ManifestPaths.SetOf(path).Length == 0)
            throw new FormatException($"'{path}' is not a publishable path (set/name, no leading '/', no '..')");
        if (releaseAt <= time.GetUtcNow())
            throw new InvalidOperationException($"release time {releaseAt:O} is not in the future; use `origin publish` for a public file");
        var full = Path.GetFullPath(source);
        var root = Path.GetFullPath(options.Root).TrimEnd('/') + "/";
        if (full.StartsWith(root, StringComparison.Ordinal))
            throw new InvalidOperationException($"'{source}' is inside Origin:Root and would be published by the next `origin publish`; stage it from outside the root");
        if (File.Exists(Path.Combine(root, path)))
            throw new InvalidOperationException($"'{path}' already exists in Origin:Root");
        _folder.Create();
        await using var guard = await LockAsync(cancellationToken);
        foreach (var other in _folder.LoadRecords())
        {
            if (other.ReleasedAt is null && other.Path == path)
                throw new InvalidOperationException($"'{path}' is already staged as {other.Id}; cancel or move that release");
        }
        var id = StagedCipher.NewId();
        var key = StagedCipher.NewKey();
        try
        {
            await using (var input = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous))
            await using (var copy = StagingFolder.CreatePrivate(_folder.PlainPath(id)))
            {
                await input.CopyToAsync(copy, cancellationToken);
                copy.Flush(flushToDisk: true);
            }
            string sha;
            long size;
            await using (var plain = File.OpenRead(_folder.PlainPath(id)))
                (sha, _, size) = await FileHasher.HashAsync(plain, options.ChunkSize, cancellationToken);
            List<string> cipherChunks;
            var cipherTemp = _folder.CipherPath(id) + ".tmp";
            await using (var plain = File.OpenRead(_folder.PlainPath(id)))
            await using (var cipher = new FileStream(cipherTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                cipherChunks = await StagedCipher.EncryptAsync(plain, cipher, key, id, options.ChunkSize, cancellationToken);
                cipher.Flush(flushToDisk: true);
            }
            File.Move(cipherTemp, _folder.CipherPath(id));
            var record = new StagedRecord
            {
                Id = id,
                Path = path,
                ReleaseAt = releaseAt.ToUniversalTime(),
                Key = Convert.ToBase64String(key),
                PlainSize = size,
                Sha256 = sha,
                ChunkSize = options.ChunkSize,
                CipherSize = StagedCipher.CipherSize(size, options.ChunkSize),
                CipherChunks = cipherChunks,
            };
            await _folder.SaveAsync(record, cancellationToken);
            await WriteListAsync(cancellationToken);
            Log.Staged(logger, id, path, record.ReleaseAt);
            return record;
        }
        catch
        {
            File.Delete(_folder.PlainPath(id));
            File.Delete(_folder.CipherPath(id) + ".tmp");
            File.Delete(_folder.CipherPath(id));
            throw;
        }
    }

    /// <summary>Moves a staged release to another time.</summary>
    public async Task<StagedRecord> MoveAsync(string id, DateTimeOffset releaseAt, CancellationToken cancellationToken = default)
    {
        if (releaseAt <= time.GetUtcNow())
            throw new InvalidOperationException($"release time {releaseAt:O} is not in the future");
        await using var guard = await LockAsync(cancellationToken);
        var record = Find(id);
        var moved = record with { ReleaseAt = releaseAt.ToUniversalTime() };
        await _folder.SaveAsync(moved, cancellationToken);
        Log.Moved(logger, id, moved.ReleaseAt);
        return moved;
    }

    /// <summary>Cancels a staged release: its files go, and it leaves the signed list, so mirrors purge its ciphertext.</summary>
    public async Task CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var guard = await LockAsync(cancellationToken);
        Find(id);
        _folder.Delete(id);
        await WriteListAsync(cancellationToken);
        Log.Cancelled(logger, id);
    }

    /// <summary>
    /// Releases every file whose time has come: copies its plaintext into the root (temp + fsync + rename), puts its
    /// key into the signed list, then publishes the next manifest. Drops released ids past <see cref="ReleasedRetention"/>.
    /// </summary>
    public async Task<ReleaseResult> ReleaseDueAsync(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_folder.Path))
            return new ReleaseResult(0, null);
        var now = time.GetUtcNow();
        var due = 0;
        var expired = false;
        foreach (var r in _folder.LoadRecords())
        {
            if (r.ReleasedAt is null && r.ReleaseAt <= now)
                due++;
            else if (r.ReleasedAt is { } at && at + ReleasedRetention <= now)
                expired = true;
        }
        if (due == 0 && !expired)
            return new ReleaseResult(0, null);

        await using var guard = await LockAsync(cancellationToken);
        var released = 0;
        foreach (var r in _folder.LoadRecords())
        {
            if (r.ReleasedAt is { } at && at + ReleasedRetention <= now)
            {
                _folder.Delete(r.Id);
                continue;
            }
            if (r.ReleasedAt is not null || r.ReleaseAt > now)
                continue;
            var target = Path.Combine(Path.GetFullPath(options.Root), r.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{r.Id}.tmp");
            await using (var input = File.OpenRead(_folder.PlainPath(r.Id)))
            await using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                await input.CopyToAsync(output, cancellationToken);
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
            await _folder.SaveAsync(r with { ReleasedAt = now }, cancellationToken);
            File.Delete(_folder.PlainPath(r.Id));
            File.Delete(_folder.CipherPath(r.Id));
            released++;
            Log.Released(logger, r.Id, r.Path);
        }
        await WriteListAsync(cancellationToken);
        var publication = released > 0 ? await new Publisher(options, time, logger).PublishAsync(cancellationToken) : null;
        return new ReleaseResult(released, publication);
    }

    /// <summary>Signs and writes the list of the current records (call under the lock).</summary>
    public async Task WriteListAsync(CancellationToken cancellationToken = default)
    {
        _folder.Create();
        var staged = new List<StagedFile>();
        var released = new List<ReleasedFile>();
        foreach (var r in _folder.LoadRecords())
        {
            if (r.ReleasedAt is null)
                staged.Add(new StagedFile { Id = r.Id, Size = r.CipherSize, ChunkSize = r.ChunkSize + StagedCipher.TagSize, Chunks = r.CipherChunks });
            else
                released.Add(new ReleasedFile { Id = r.Id, Path = r.Path, Sha256 = r.Sha256, Key = r.Key });
        }
        var serial = _folder.ReadCurrentSerial() + 1;
        var bytes = StagingDefaults.Serialize(new StagingList { Serial = serial, Staged = staged, Released = released });
        await _folder.WriteListAsync(serial, bytes, ManifestSigner.Sign(bytes, options.LoadPrivateKey()), cancellationToken);
    }

    private StagedRecord Find(string id)
    {
        if (!StagingDefaults.IsValidId(id))
            throw new FormatException($"'{id}' is not a staged id (32 lower-case hex digits; see `origin releases list`)");
        if (!File.Exists(_folder.RecordPath(id)))
            throw new InvalidOperationException($"no staged release {id}");
        var record = _folder.LoadRecords().Find(r => r.Id == id)!;
        if (record.ReleasedAt is not null)
            throw new InvalidOperationException($"{id} was released at {record.ReleasedAt:O}; it is public now");
        return record;
    }

    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        _folder.Create();
        return await Publishing.Publisher.AcquireLockAsync(Path.Combine(_folder.Path, "staging.lock"), cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = OriginEvents.Staged, Level = LogLevel.Information, Message = "Staged {Id} as '{Path}' for release at {ReleaseAt:O}")]
        public static partial void Staged(ILogger logger, string id, string path, DateTimeOffset releaseAt);

        [LoggerMessage(EventId = OriginEvents.ReleaseMoved, Level = LogLevel.Information, Message = "Moved release {Id} to {ReleaseAt:O}")]
        public static partial void Moved(ILogger logger, string id, DateTimeOffset releaseAt);

        [LoggerMessage(EventId = OriginEvents.ReleaseCancelled, Level = LogLevel.Information, Message = "Cancelled release {Id}; mirrors purge its ciphertext at their next staging sync")]
        public static partial void Cancelled(ILogger logger, string id);

        [LoggerMessage(EventId = OriginEvents.Released, Level = LogLevel.Information, Message = "Released {Id} as '{Path}'")]
        public static partial void Released(ILogger logger, string id, string path);
    }
}
