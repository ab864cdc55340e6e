using System.IO.Enumeration;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Manifests;
using Microsoft.Extensions.Logging;

namespace Downloads.Origin.Publishing;

/// <summary>What one publication did.</summary>
/// <param name="Serial">The new serial.</param>
/// <param name="Files">Files in the manifest.</param>
/// <param name="Hashed">Files read and hashed (new, or size/mtime changed).</param>
/// <param name="Changed">Files whose content changed at this serial.</param>
/// <param name="State">The published state.</param>
public sealed record PublishResult(long Serial, int Files, int Hashed, int Changed, PublishedState State);

/// <summary>
/// Rescans the tree and publishes the next serial: hashes only files whose size or mtime changed,
/// keeps each unchanged file's changed-at serial, signs the exact manifest bytes and swaps them in
/// atomically. One publisher at a time per state folder (a lock file guards it).
/// </summary>
public sealed partial class Publisher(OriginOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>Publishes the next serial.</summary>
    public async Task<PublishResult> PublishAsync(CancellationToken cancellationToken = default)
    {
        var privateKey = options.LoadPrivateKey();
        var root = Path.GetFullPath(options.Root);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Origin:Root '{root}' does not exist; create it or run `origin sample --root {root}`.");
        var state = new StateFolder(Path.GetFullPath(options.StateDir));
        Directory.CreateDirectory(state.Path);

        await using var guard = await AcquireLockAsync(Path.Combine(state.Path, "publish.lock"), cancellationToken);
        var previous = state.Load(state.ReadCurrentSerial(), out _);
        var serial = (previous?.Manifest.Serial ?? 0) + 1;
        var cache = HashCache.Load(state.HashCachePath);
        var fresh = new Dictionary<string, CachedHash>(StringComparer.Ordinal);
        var files = new List<ManifestFile>();
        int hashed = 0, changed = 0;

        foreach (var (relative, info) in Scan(root))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var mtime = info.LastWriteTimeUtc;
            if (!cache.Entries.TryGetValue(relative, out var hash)
                || hash.Size != info.Length || hash.MtimeTicks != mtime.Ticks || hash.ChunkSize != options.ChunkSize)
            {
                await using var stream = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
                var (sha, chunks, length) = await FileHasher.HashAsync(stream, options.ChunkSize, cancellationToken);
                if (length != info.Length)
                    throw new IOException($"'{relative}' changed while it was being hashed; publish again when writers are done.");
                hash = new CachedHash(length, mtime.Ticks, options.ChunkSize, sha, chunks);
                hashed++;
            }
            fresh[relative] = hash;
            var changedAt = serial;
            if (previous is not null && previous.Files.TryGetValue(relative, out var before) && before.Sha256 == hash.Sha256 && before.Size == hash.Size)
                changedAt = before.ChangedAt;
            else
                changed++;
            files.Add(new ManifestFile
            {
                Path = relative,
                Size = hash.Size,
                Sha256 = hash.Sha256,
                ChangedAt = changedAt,
                Modified = new DateTimeOffset(mtime.Ticks, TimeSpan.Zero),
                Chunks = hash.Chunks,
            });
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var published = time.GetUtcNow();
        var manifest = new Manifest
        {
            Serial = serial,
            Published = published,
            Expires = published + options.ManifestLifetime,
            ChunkSize = options.ChunkSize,
            Files = files,
            Folders = FolderSignatures.Sign(files, privateKey, serial, published),
        };
        var bytes = ManifestCodec.Serialize(manifest);
        var signature = ManifestSigner.Sign(bytes, privateKey);
        await state.WriteAsync(serial, bytes, signature, options.KeepSerials, cancellationToken);
        await new HashCache { Entries = fresh }.SaveAsync(state.HashCachePath, cancellationToken);
        var removed = previous is null ? 0 : previous.Manifest.Files.Count(f => !fresh.ContainsKey(f.Path));
        Log.Published(logger, serial, files.Count, hashed, changed, removed);
        return new PublishResult(serial, files.Count, hashed, changed, new PublishedState(manifest, bytes, System.Text.Encoding.ASCII.GetBytes(signature)));
    }

    /// <summary>
    /// True when <paramref name="manifest"/> has less than half of <see cref="OriginOptions.ManifestLifetime"/> left at
    /// <paramref name="now"/> (or has expired, or never had an expiry): time to re-sign it.
    /// </summary>
    public static bool IsRenewalDue(Manifest manifest, DateTimeOffset now, TimeSpan lifetime) =>
        manifest.Expires - now < lifetime / 2;

    /// <summary>
    /// Re-signs the current serial's files, unchanged, as the next serial with a fresh <c>expires</c>: no rescan, so
    /// nothing an operator is still copying into the root goes out with it. Null when nothing was published yet, or when
    /// another publisher got there first and the current serial is no longer due.
    /// </summary>
    public async Task<PublishResult?> ResignAsync(CancellationToken cancellationToken = default)
    {
        var privateKey = options.LoadPrivateKey();
        var state = new StateFolder(Path.GetFullPath(options.StateDir));
        Directory.CreateDirectory(state.Path);
        await using var guard = await AcquireLockAsync(Path.Combine(state.Path, "publish.lock"), cancellationToken);
        var previous = state.Load(state.ReadCurrentSerial(), out _);
        var published = time.GetUtcNow();
        if (previous is null || !IsRenewalDue(previous.Manifest, published, options.ManifestLifetime))
            return null;
        var serial = previous.Manifest.Serial + 1;
        var files = previous.Manifest.Files;
        var manifest = previous.Manifest with
        {
            Serial = serial,
            Published = published,
            Expires = published + options.ManifestLifetime,
            Folders = FolderSignatures.Sign(files, privateKey, serial, published),
        };
        var bytes = ManifestCodec.Serialize(manifest);
        var signature = ManifestSigner.Sign(bytes, privateKey);
        await state.WriteAsync(serial, bytes, signature, options.KeepSerials, cancellationToken);
        Log.Resigned(logger, serial, previous.Manifest.Serial, manifest.Expires);
        return new PublishResult(serial, files.Count, 0, 0, new PublishedState(manifest, bytes, System.Text.Encoding.ASCII.GetBytes(signature)));
    }

    private IEnumerable<(string Relative, FileInfo Info)> Scan(string root)
    {
        var enumeration = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            IgnoreInaccessible = false,
        };
        // Linked folders are not entered: a link to /etc would publish /etc (.NET recurses into them).
        var paths = new FileSystemEnumerable<string>(root, (ref FileSystemEntry entry) => entry.ToFullPath(), enumeration)
        {
            ShouldIncludePredicate = (ref FileSystemEntry entry) => !entry.IsDirectory,
            ShouldRecursePredicate = (ref FileSystemEntry entry) =>
            {
                if ((entry.Attributes & FileAttributes.ReparsePoint) == 0)
                    return true;
                Log.SkippedFolderLink(logger, Path.GetRelativePath(root, entry.ToFullPath()).Replace(Path.DirectorySeparatorChar, '/'));
                return false;
            },
        };
        foreach (var path in paths)
        {
            var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            var name = Path.GetFileName(path);
            if (name.StartsWith('.'))
                continue;
            if (!ManifestPaths.IsValid(relative) || ManifestPaths.SetOf(relative).Length == 0)
            {
                Log.SkippedPath(logger, relative);
                continue;
            }
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                // A link is published as the file it ends at, if that is a file inside the root: a link out
                // would publish (and serve) whatever it names, and a dangling one has nothing to publish.
                var target = Resolve(info, root);
                if (target is null)
                {
                    Log.SkippedLink(logger, relative, info.LinkTarget);
                    continue;
                }
                info = target;
            }
            yield return (relative, info);
        }
    }

    /// <summary>The regular file inside <paramref name="root"/> that the link <paramref name="link"/> ends at, or null.</summary>
    private static FileInfo? Resolve(FileInfo link, string root)
    {
        try
        {
            if (link.ResolveLinkTarget(returnFinalTarget: true) is not FileInfo { Exists: true } target)
                return null;
            // Compare real paths: the root itself, or a folder on the way, may be a link too.
            var realRoot = RealPath(root);
            var realTarget = RealPath(target.FullName);
            return realTarget.StartsWith(realRoot.TrimEnd('/') + "/", StringComparison.Ordinal) ? new FileInfo(realTarget) : null;
        }
        catch (IOException)
        {
            return null; // a loop of links, or one that vanished meanwhile
        }
    }

    /// <summary>The path with every link along it resolved.</summary>
    private static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var parts = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo entry = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            current = entry.LinkTarget is not null && entry.ResolveLinkTarget(returnFinalTarget: true) is { } resolved
                ? Path.GetFullPath(resolved.FullName)
                : next;
        }
        return current;
    }

    /// <summary>An exclusive lock file (deleted on close), waited for up to a minute: one publisher or stager at a time.</summary>
    internal static async Task<FileStream> AcquireLockAsync(string path, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = OriginEvents.Published, Level = LogLevel.Information, Message = "Published serial {Serial}: {Files} files, {Hashed} hashed, {Changed} changed, {Removed} removed")]
        public static partial void Published(ILogger logger, long serial, int files, int hashed, int changed, int removed);

        [LoggerMessage(EventId = OriginEvents.Resigned, Level = LogLevel.Information, Message = "Re-signed serial {Previous} as serial {Serial}, unchanged files, expires {Expires:O}")]
        public static partial void Resigned(ILogger logger, long serial, long previous, DateTimeOffset expires);

        [LoggerMessage(EventId = OriginEvents.SkippedPath, Level = LogLevel.Warning, Message = "Skipped '{Path}': not a publishable path (top-level files and reserved names are not published)")]
        public static partial void SkippedPath(ILogger logger, string path);

        [LoggerMessage(EventId = OriginEvents.SkippedLink, Level = LogLevel.Warning, Message = "Skipped '{Path}': a link to '{Target}', which is no file inside the root")]
        public static partial void SkippedLink(ILogger logger, string path, string target);

        [LoggerMessage(EventId = OriginEvents.SkippedFolderLink, Level = LogLevel.Warning, Message = "Skipped folder '{Path}': a link (linked folders are not published; link the files instead)")]
        public static partial void SkippedFolderLink(ILogger logger, string path);
    }
}
