using Downloads.Contracts.Manifests;
using Downloads.Mirror.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Sync;

/// <summary>
/// Fetches one file into the object store: contiguous runs of missing chunks are requested with
/// one ranged GET each; within a run, receiving overlaps verifying and writing (<see cref="ChunkPipeline"/>),
/// and a chunk is written only when its SHA-256 matches the signed manifest. A failed attempt
/// resumes from the first chunk still missing; a corrupt chunk is refetched, and one that stays
/// corrupt fails the sync with the upstream named.
/// </summary>
public sealed partial class FileFetcher(
    UpstreamClient upstream,
    BandwidthLimiter limiter,
    SyncStatus status,
    IOptions<SyncOptions> options,
    ILogger<FileFetcher> logger)
{
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
            for (var first = partial.FirstMissing(); first >= 0; first = partial.FirstMissing(first))
            {
                var last = first;
                while (last + 1 < partial.ChunkCount && !partial.IsDone(last + 1) && last + 1 - first < maxChunks)
                    last++;
                var run = (First: first, Last: last);
                fetched += await upstream.Pipeline.ExecuteAsync(
                    async ct => await FetchRunAsync(partial, file, chunkSize, run.First, run.Last, corrupt, progress, ct),
                    cancellationToken);
            }
            await partial.FlushToDiskAsync();
        }
        store.CommitObject(file.Sha256, Path.Combine(store.PartialDir, file.Sha256 + ".part"));
        PartialFile.DeleteRecord(store.PartialDir, file.Sha256);
        Log.Fetched(logger, file.Path, file.Size, fetched, resumed, (progress.Elapsed - started).TotalSeconds);
        return fetched;
    }

    private async Task<long> FetchRunAsync(PartialFile partial, ManifestFile file, int chunkSize, int first, int last,
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
        await ChunkPipeline.RunAsync(start, last, (int)Math.Min(chunkSize, file.Size), ChunkPipeline.DepthFor(chunkSize),
            async (index, buffer, ct) =>
            {
                var length = (int)Math.Min(chunkSize, file.Size - (long)index * chunkSize);
                await ReceiveAsync(body, buffer[..length], file.Path, index, progress, ct);
                fetched += length;
                return length;
            },
            (index, bytes) => Verify(file, index, bytes, corrupt, progress),
            (index, bytes) =>
            {
                partial.WriteVerified(index, (long)index * chunkSize, bytes);
                progress.AddDone(bytes.Length);
            },
            cancellationToken);
        return fetched;
    }

    private async ValueTask ReceiveAsync(Stream body, Memory<byte> chunk, string path, int index, SyncProgress progress, CancellationToken cancellationToken)
    {
        var got = 0;
        while (got < chunk.Length)
        {
            var want = chunk.Length - got;
            if (limiter.IsLimited)
            {
                want = Math.Min(want, BandwidthLimiter.SliceBytes);
                await limiter.AcquireAsync(want, cancellationToken);
            }
            // As much as the socket holds: the stream reads straight into the chunk, no copy in between.
            var n = await body.ReadAsync(chunk.Slice(got, want), cancellationToken);
            if (n == 0)
                throw new IOException($"upstream closed the connection after {got} of {chunk.Length} bytes of chunk {index} of '{path}'");
            got += n;
            status.AddFetched(n);
            progress.AddFetched(n);
        }
    }

    // Runs on the pipeline's verify stage, one chunk at a time per file.
    private void Verify(ManifestFile file, int index, ReadOnlySpan<byte> bytes, Dictionary<int, int> corrupt, SyncProgress progress)
    {
        if (ChunkHash.Matches(bytes, file.Chunks[index]))
            return;
        var times = corrupt[index] = corrupt.GetValueOrDefault(index) + 1;
        Log.CorruptChunk(logger, index, file.Path, upstream.BaseAddress, times);
        progress.AddCorrupt();
        if (times > options.Value.CorruptChunkRetries)
            throw new UpstreamCorruptException($"upstream {upstream.BaseAddress} served chunk {index} of '{file.Path}' corrupt {times} times");
        throw new CorruptChunkException($"chunk {index} of '{file.Path}' failed verification");
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
        [LoggerMessage(EventId = MirrorEvents.FileFetched, Level = LogLevel.Debug, Message = "Fetched {Path} ({Size} bytes; {Fetched} bytes fetched, {Resumed} chunks resumed) in {Seconds:0.00} s")]
        public static partial void Fetched(ILogger logger, string path, long size, long fetched, int resumed, double seconds);

        [LoggerMessage(EventId = MirrorEvents.CorruptChunk, Level = LogLevel.Warning, Message = "Chunk {Chunk} of {Path} from {Upstream} failed verification ({Times} times); refetching")]
        public static partial void CorruptChunk(ILogger logger, int chunk, string path, Uri upstream, int times);
    }
}
