using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Staging;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Staging;

/// <summary>
/// The mirror's staged ciphertexts, <c>{DataDir}/staging/{id}.bin</c> (complete and verified against the signed list)
/// and <c>{id}.part</c> (being fetched). Never served: clients reach files only through the live snapshot. At release
/// the sync engine asks <see cref="TryMaterializeAsync"/> for a missing file: if its id is held, the ciphertext is
/// decrypted locally, the plaintext checked against the signed manifest's hashes and renamed into the object store.
/// </summary>
public sealed partial class StagedCiphertexts(
    DiskStore store,
    UpstreamClient upstream,
    BandwidthLimiter limiter,
    IOptions<MirrorOptions> mirror,
    IOptions<StagingOptions> options,
    ILogger<StagedCiphertexts> logger) : IDisposable
{
    private const string ShortPrefix = "not enough disk for staging: ";
    private readonly SemaphoreSlim _listLock = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _releasing = new(StringComparer.Ordinal);
    private StagingList _list = new();

    /// <inheritdoc />
    public void Dispose() => _listLock.Dispose();

    /// <summary>The folder.</summary>
    public string Folder { get; } = Path.Combine(store.Root, "staging");

    /// <summary>
    /// Ids held complete and verified, and those decrypted at their release whose serial is not live yet (served ahead of
    /// it through <see cref="ReleaseWaits"/>): redirectors keep sending that file's clients here until the serial is reported.
    /// </summary>
    public IReadOnlyList<string> Held
    {
        get
        {
            var held = new List<string>(_releasing.Keys);
            if (!Directory.Exists(Folder))
            {
                held.Sort(StringComparer.Ordinal);
                return held;
            }
            foreach (var file in Directory.EnumerateFiles(Folder, "*.bin"))
            {
                var id = Path.GetFileNameWithoutExtension(file);
                if (StagingDefaults.IsValidId(id) && !_releasing.ContainsKey(id))
                    held.Add(id);
            }
            held.Sort(StringComparer.Ordinal);
            return held;
        }
    }

    /// <summary>The last verified list as signed (bytes, signature), re-served to tier-2 mirrors; null before the first.</summary>
    public (byte[] Bytes, byte[] Signature)? Served { get; private set; }

    /// <summary>The complete ciphertext of a staged id to re-serve, or null (not listed as staged, or not held).</summary>
    public string? ServablePath(string id)
    {
        if (!StagingDefaults.IsValidId(id))
            return null;
        foreach (var f in Volatile.Read(ref _list).Staged)
        {
            if (f.Id == id)
                return File.Exists(BinPath(id)) ? BinPath(id) : null;
        }
        return null;
    }

    /// <summary>Staged ids in the last verified list.</summary>
    public int Listed => Volatile.Read(ref _list).Staged.Count;

    /// <summary>Bytes short of what staging every listed file needs (0: enough room).</summary>
    public long ShortfallBytes { get; private set; }

    /// <summary>The last error of a staging pass, empty when it went well.</summary>
    public string LastError { get; private set; } = "";

    /// <summary>Reads and verifies the upstream's signed list, purges ids that left it; returns it (null on failure, with <see cref="LastError"/>).</summary>
    public async Task<StagingList?> RefreshListAsync(CancellationToken cancellationToken)
    {
        await _listLock.WaitAsync(cancellationToken);
        try
        {
            return await ReadListAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or UpstreamMismatchException or UpstreamStatusException
            or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException or UnauthorizedAccessException)
        {
            return Fail($"staging list from {upstream.BaseAddress} unavailable: {ex.Message}");
        }
        finally
        {
            _listLock.Release();
        }
    }

    private async Task<StagingList?> ReadListAsync(CancellationToken cancellationToken)
    {
        {
            var bytes = await upstream.GetBytesAsync(StagingDefaults.ListPath.TrimStart('/'), cancellationToken);
            var signature = Encoding.ASCII.GetString(await upstream.GetBytesAsync(StagingDefaults.SignaturePath.TrimStart('/'), cancellationToken)).Trim();
            if (mirror.Value.Keys.Verify(bytes, signature) == PinnedKey.None)
                return Fail($"staging list from {upstream.BaseAddress} rejected: its signature verifies against neither Mirror:PublicKey nor Mirror:NextPublicKey");
            var list = StagingDefaults.TryParse(bytes, out var error);
            if (list is null)
                return Fail($"staging list from {upstream.BaseAddress} rejected: {error}");
            if (list.Serial < Volatile.Read(ref _list).Serial)
                return Volatile.Read(ref _list); // an older list (another upstream behind): keep ours
            Volatile.Write(ref _list, list);
            Served = (bytes, Encoding.ASCII.GetBytes(signature));
            Purge(list);
            return list;
        }
    }

    /// <summary>One staging pass: refresh the list, check the disk, fetch and verify what is missing.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await RefreshListAsync(cancellationToken) is not { } list)
                return;
            Directory.CreateDirectory(Folder);
            long missing = 0, all = 0;
            foreach (var f in list.Staged)
            {
                all += f.Size;
                if (!File.Exists(BinPath(f.Id)))
                    missing += f.Size - PartLength(f.Id);
            }
            // Room for the missing ciphertext now, for each plaintext at release, and the configured headroom.
            var need = missing + all + options.Value.MinFreeBytes;
            var free = new DriveInfo(Folder).AvailableFreeSpace;
            ShortfallBytes = Math.Max(0, need - free);
            if (ShortfallBytes > 0 && missing > 0)
            {
                // Once when it starts (the metric follows it live), not at every poll.
                if (!LastError.StartsWith(ShortPrefix, StringComparison.Ordinal))
                    Log.Shortfall(logger, list.Staged.Count, need, free, ShortfallBytes);
                LastError = $"{ShortPrefix}{ShortfallBytes} bytes short";
                return;
            }
            foreach (var f in list.Staged)
            {
                if (!File.Exists(BinPath(f.Id)))
                    await upstream.Pipeline.ExecuteAsync(async ct => await FetchAsync(f, ct), cancellationToken);
            }
            LastError = "";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or UpstreamCorruptException or UpstreamMismatchException or CorruptChunkException
            or UpstreamStatusException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException or UnauthorizedAccessException)
        {
            Fail($"staging from {upstream.BaseAddress} failed: {ex.Message}");
        }
    }

    /// <summary>
    /// Turns a held ciphertext into the object of <paramref name="file"/> when the list says it was released under that
    /// path and hash: decrypt, check every plaintext chunk and the whole hash against the signed manifest, fsync, rename.
    /// False (and the file is downloaded as usual) when it is not held or does not check out.
    /// </summary>
    public async Task<bool> TryMaterializeAsync(ManifestFile file, int chunkSize, CancellationToken cancellationToken)
    {
        if (ReleasedFor(file) is not { } released)
            return false;
        var temp = Path.Combine(store.PartialDir, file.Sha256 + ".decrypt");
        try
        {
            bool ok;
            await using (var cipher = new FileStream(BinPath(released.Id), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous))
            await using (var plain = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                using var checker = new CheckingStream(plain, file, chunkSize);
                ok = await StagedCipher.DecryptAsync(cipher, checker, Convert.FromBase64String(released.Key), released.Id, chunkSize, cancellationToken) && checker.Finish();
                plain.Flush(flushToDisk: true);
            }
            if (!ok)
            {
                Log.DecryptFailed(logger, released.Id, file.Path);
                File.Delete(BinPath(released.Id));
                return false;
            }
            store.CommitObject(file.Sha256, temp);
            _releasing[released.Id] = true;
            File.Delete(BinPath(released.Id));
            Log.Materialized(logger, released.Id, file.Path, file.Size);
            return true;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Whether <paramref name="file"/> is a released file whose ciphertext is held (<see cref="TryMaterializeAsync"/> would decrypt it).</summary>
    public bool HoldsRelease(ManifestFile file) => ReleasedFor(file) is not null;

    /// <summary>A serial went live: the files decrypted for it are ordinary live files now, no longer reported as held.</summary>
    public void ReleasesLive() => _releasing.Clear();

    private ReleasedFile? ReleasedFor(ManifestFile file)
    {
        foreach (var r in Volatile.Read(ref _list).Released)
        {
            if (r.Path == file.Path && r.Sha256 == file.Sha256 && File.Exists(BinPath(r.Id)))
                return r;
        }
        return null;
    }

    private async Task<int> FetchAsync(StagedFile staged, CancellationToken cancellationToken)
    {
        // Resumes after the last chunk of a previous attempt that still verifies (an attempt cut off, a restart).
        var part = Path.Combine(Folder, staged.Id + ".part");
        var buffer = new byte[staged.ChunkSize];
        var (offset, first) = await VerifiedPrefixAsync(staged, part, buffer, cancellationToken);
        if (offset < staged.Size)
        {
            using var response = await upstream.GetStreamAsync(StagingDefaults.CiphertextPrefix.TrimStart('/') + staged.Id, offset, cancellationToken);
            if (offset > 0 && response.StatusCode != System.Net.HttpStatusCode.PartialContent)
                (offset, first) = (0, 0); // the upstream ignored the range: the whole body follows
            if (offset > 0)
                Log.Resuming(logger, staged.Id, offset, staged.Size);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await using var output = new FileStream(part, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            output.SetLength(offset);
            output.Position = offset;
            long remaining = staged.Size - offset;
            for (var i = first; i < staged.Chunks.Count; i++)
            {
                var length = (int)Math.Min(staged.ChunkSize, remaining);
                // Under the same bandwidth cap as the sync: prefetching a launch must not starve the live tree.
                var read = 0;
                while (read < length)
                {
                    var slice = Math.Min(length - read, BandwidthLimiter.SliceBytes);
                    await limiter.AcquireAsync(slice, cancellationToken);
                    var n = await body.ReadAsync(buffer.AsMemory(read, slice), cancellationToken);
                    if (n == 0)
                        break;
                    read += n;
                }
                if (read != length)
                    throw new IOException($"staged {staged.Id} ended after {staged.Size - remaining + read} of {staged.Size} bytes");
                if (Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length))) != staged.Chunks[i])
                    throw new CorruptChunkException($"upstream served chunk {i} of staged {staged.Id} corrupt");
                await output.WriteAsync(buffer.AsMemory(0, length), cancellationToken);
                remaining -= length;
            }
            if (await body.ReadAsync(buffer.AsMemory(0, 1), cancellationToken) != 0)
                throw new UpstreamMismatchException($"staged {staged.Id} is longer than the signed {staged.Size} bytes");
            output.Flush(flushToDisk: true);
        }
        else
        {
            await using var output = new FileStream(part, FileMode.Open, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            output.Flush(flushToDisk: true);
        }
        File.Move(part, BinPath(staged.Id), overwrite: true);
        Log.Staged(logger, staged.Id, staged.Size);
        return 0;
    }

    /// <summary>
    /// The bytes and chunks of <paramref name="part"/> that verify against the signed hashes, from the start; the file is cut
    /// to them (a chunk written in part, or one that no longer verifies, and everything after it, is fetched again).
    /// </summary>
    private static async Task<(long Offset, int Chunks)> VerifiedPrefixAsync(StagedFile staged, string part, byte[] buffer, CancellationToken cancellationToken)
    {
        if (!File.Exists(part))
            return (0, 0);
        long offset = 0;
        var chunks = 0;
        await using (var input = new FileStream(part, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            while (chunks < staged.Chunks.Count)
            {
                var length = (int)Math.Min(staged.ChunkSize, staged.Size - offset);
                if (await input.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, cancellationToken) != length
                    || Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length))) != staged.Chunks[chunks])
                    break;
                offset += length;
                chunks++;
            }
            input.SetLength(offset);
        }
        return (offset, chunks);
    }

    private void Purge(StagingList list)
    {
        if (!Directory.Exists(Folder))
            return;
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in list.Staged)
            keep.Add(f.Id);
        foreach (var f in list.Released)
            keep.Add(f.Id);
        foreach (var file in Directory.EnumerateFiles(Folder))
        {
            var name = Path.GetFileName(file);
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            var id = dot > 0 ? name[..dot] : name;
            if (!keep.Contains(id))
            {
                File.Delete(file);
                if (name.EndsWith(".bin", StringComparison.Ordinal))
                    Log.Purged(logger, id);
            }
        }
    }

    private string BinPath(string id) => Path.Combine(Folder, id + ".bin");

    private long PartLength(string id)
    {
        var info = new FileInfo(Path.Combine(Folder, id + ".part"));
        return info.Exists ? info.Length : 0;
    }

    private StagingList? Fail(string message)
    {
        // Logged when it changes, not at every poll: an upstream that stages nothing (an older origin, a tier-1
        // mirror, which does not re-serve the list) would otherwise write a warning a minute.
        if (message != LastError)
            Log.Failed(logger, message);
        LastError = message;
        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = MirrorEvents.StagedFetched, Level = LogLevel.Information, Message = "Staged ciphertext {Id} fetched and verified ({Bytes} bytes)")]
        public static partial void Staged(ILogger logger, string id, long bytes);

        [LoggerMessage(EventId = MirrorEvents.StagingShortfall, Level = LogLevel.Warning, Message = "Not staging {Files} files: they need {Need} bytes with headroom, the data folder has {Free} free, {Short} bytes short")]
        public static partial void Shortfall(ILogger logger, int files, long need, long free, long @short);

        [LoggerMessage(EventId = MirrorEvents.StagingFailed, Level = LogLevel.Warning, Message = "{Message}")]
        public static partial void Failed(ILogger logger, string message);

        [LoggerMessage(EventId = MirrorEvents.StagedPurged, Level = LogLevel.Information, Message = "Purged staged ciphertext {Id}: it left the staging list (cancelled)")]
        public static partial void Purged(ILogger logger, string id);

        [LoggerMessage(EventId = MirrorEvents.StagedMaterialized, Level = LogLevel.Information, Message = "Released {Id} decrypted locally as '{Path}' ({Bytes} bytes), nothing downloaded")]
        public static partial void Materialized(ILogger logger, string id, string path, long bytes);

        [LoggerMessage(EventId = MirrorEvents.StagedFetchResumed, Level = LogLevel.Information, Message = "Staged ciphertext {Id}: resuming at byte {Offset} of {Bytes} (the chunks before it verify)")]
        public static partial void Resuming(ILogger logger, string id, long offset, long bytes);

        [LoggerMessage(EventId = MirrorEvents.StagedDecryptFailed, Level = LogLevel.Error, Message = "Released {Id} did not decrypt to the signed '{Path}'; dropped it and downloading the file instead")]
        public static partial void DecryptFailed(ILogger logger, string id, string path);
    }
}
