using System.Buffers;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Sync;

/// <summary>
/// Fetches one file into the object store: contiguous runs of missing chunks are requested with
/// one ranged GET each, every chunk is hashed as it arrives and written only when it matches the
/// signed manifest. A failed attempt resumes from the first chunk still missing; a corrupt chunk
/// is refetched, and one that stays corrupt fails the sync with the upstream named.
/// </summary>
public sealed partial class FileFetcher(
    UpstreamClient upstream,
    BandwidthLimiter limiter,
    SyncStatus status,
    IOptions<SyncOptions> options,
    ILogger<FileFetcher> logger)
{
    private const int ReadBytes = 1024 * 1024;
    private const long FlushBytes = 64L * 1024 * 1024;

    /// <summary>Fetches <paramref name="file"/> unless its object exists; returns the bytes fetched.</summary>
    public async Task<long> FetchAsync(DiskStore store, ManifestFile file, int chunkSize, SyncProgress progress, CancellationToken cancellationToken)
    {
        if (store.HasObject(file.Sha256, file.Size))
            return 0;
        if (file.Size == 0)
        {
            store.CommitEmptyObject(file.Sha256);
            return 0;
        }
        long fetched = 0;
        int resumed;
        var corrupt = new Dictionary<int, int>();
        var started = progress.Elapsed;
        using (var partial = PartialFile.Open(store.PartialDir, file.Sha256, file.Size, chunkSize, file.Chunks))
        {
            resumed = partial.ResumedChunks;
            progress.AddDone(ResumedBytes(partial, file.Size, chunkSize));
            var maxChunks = (int)Math.Max(1, RequestBytes() / chunkSize);
            byte[][] buffers = [ArrayPool<byte>.Shared.Rent(chunkSize), ArrayPool<byte>.Shared.Rent(chunkSize)];
            try
            {
                for (var first = partial.FirstMissing(); first >= 0; first = partial.FirstMissing(first))
                {
                    var last = first;
                    while (last + 1 < partial.ChunkCount && !partial.IsDone(last + 1) && last + 1 - first < maxChunks)
                        last++;
                    var run = (First: first, Last: last);
                    fetched += await upstream.Pipeline.ExecuteAsync(
                        async ct => await FetchRunAsync(partial, file, chunkSize, run.First, run.Last, buffers, corrupt, progress, ct),
                        cancellationToken);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffers[0]);
                ArrayPool<byte>.Shared.Return(buffers[1]);
            }
            partial.FlushToDisk();
        }
        store.CommitObject(file.Sha256, Path.Combine(store.PartialDir, file.Sha256 + ".part"));
        PartialFile.DeleteRecord(store.PartialDir, file.Sha256);
        Log.Fetched(logger, file.Path, file.Size, fetched, resumed, (progress.Elapsed - started).TotalSeconds);
        return fetched;
    }

    private async Task<long> FetchRunAsync(PartialFile partial, ManifestFile file, int chunkSize, int first, int last, byte[][] buffers,
        Dictionary<int, int> corrupt, SyncProgress progress, CancellationToken cancellationToken)
    {
        // A retried attempt starts from the first chunk of the run still missing.
        var start = partial.FirstMissing(first);
        if (start < 0 || start > last)
            return 0;
        var from = (long)start * chunkSize;
        var to = Math.Min(file.Size, (long)(last + 1) * chunkSize) - 1;
        using var response = await upstream.GetRangeAsync(file, from, to, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        long fetched = 0;
        // Two buffers: chunk i+1 arrives from the network while chunk i is hashed and written on
        // another core, so verification does not stall the transfer.
        Task verifying = Task.CompletedTask;
        try
        {
            for (var i = start; i <= last; i++)
            {
                var buffer = buffers[i & 1];
                var offset = (long)i * chunkSize;
                var length = (int)Math.Min(chunkSize, file.Size - offset);
                var got = 0;
                while (got < length)
                {
                    var want = Math.Min(ReadBytes, length - got);
                    if (limiter.IsLimited)
                    {
                        want = Math.Min(want, BandwidthLimiter.SliceBytes);
                        await limiter.AcquireAsync(want, cancellationToken);
                    }
                    var n = await body.ReadAsync(buffer.AsMemory(got, want), cancellationToken);
                    if (n == 0)
                        throw new IOException($"upstream closed the connection after {got} of {length} bytes of chunk {i} of '{file.Path}'");
                    got += n;
                    fetched += n;
                    status.AddFetched(n);
                    progress.AddFetched(n);
                }
                await verifying;
                var index = i;
                verifying = Task.Run(() => VerifyAndWriteAsync(partial, file, index, offset, buffer.AsMemory(0, length), corrupt, progress, cancellationToken), cancellationToken);
            }
        }
        finally
        {
            // Never return while a write into a buffer or the partial may still run.
            await verifying.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await verifying;
        return fetched;
    }

    private async Task VerifyAndWriteAsync(PartialFile partial, ManifestFile file, int index, long offset, ReadOnlyMemory<byte> bytes,
        Dictionary<int, int> corrupt, SyncProgress progress, CancellationToken cancellationToken)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
        if (hash != file.Chunks[index])
        {
            var times = corrupt[index] = corrupt.GetValueOrDefault(index) + 1;
            Log.CorruptChunk(logger, index, file.Path, upstream.BaseAddress, times);
            progress.AddCorrupt();
            if (times > options.Value.CorruptChunkRetries)
                throw new UpstreamCorruptException($"upstream {upstream.BaseAddress} served chunk {index} of '{file.Path}' corrupt {times} times");
            throw new CorruptChunkException($"chunk {index} of '{file.Path}' failed verification");
        }
        await partial.WriteVerifiedAsync(index, offset, bytes, cancellationToken);
        progress.AddDone(bytes.Length);
        // Flush as we go so the fsync before the file goes live does not wait for the whole file's writeback.
        if ((offset + bytes.Length) / FlushBytes != offset / FlushBytes)
            partial.FlushToDisk();
    }

    private long RequestBytes()
    {
        var o = options.Value;
        if (o.BandwidthBytesPerSecond <= 0)
            return o.MaxRequestBytes;
        // Under a cap, keep one request well inside its timeout.
        var fits = (long)(o.BandwidthBytesPerSecond * o.AttemptTimeout.TotalSeconds / 4);
        return Math.Clamp(fits, 1, o.MaxRequestBytes);
    }

    private static long ResumedBytes(PartialFile partial, long size, int chunkSize)
    {
        long bytes = 0;
        for (var i = 0; i < partial.ChunkCount; i++)
        {
            if (partial.IsDone(i))
                bytes += Math.Min(chunkSize, size - (long)i * chunkSize);
        }
        return bytes;
    }

    private static partial class Log
    {
        // Debug: one line per file would be 100,000 lines for a whole tree; the progress line (2020) and the
        // serial's summary (2033) say it at Information.
        [LoggerMessage(EventId = 2010, Level = LogLevel.Debug, Message = "Fetched {Path} ({Size} bytes; {Fetched} bytes fetched, {Resumed} chunks resumed) in {Seconds:0.00} s")]
        public static partial void Fetched(ILogger logger, string path, long size, long fetched, int resumed, double seconds);

        [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Chunk {Chunk} of {Path} from {Upstream} failed verification ({Times} times); refetching")]
        public static partial void CorruptChunk(ILogger logger, int chunk, string path, Uri upstream, int times);
    }
}
