using System.Collections.Concurrent;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Sync;

public class ChunkPipelineTests
{
    private const int ChunkSize = 64 * 1024;
    private const int Depth = 4;

    [Fact]
    public async Task Every_chunk_is_verified_and_written_once_in_order_with_its_bytes()
    {
        var data = RandomNumberGenerator.GetBytes(40 * ChunkSize - 1000);
        var wire = new Wire(data);
        var verified = new ConcurrentQueue<int>();
        var written = new List<int>();
        var copy = new byte[data.Length];

        await ChunkPipeline.RunAsync(0, 39, ChunkSize, Depth, wire.ReceiveAsync,
            (i, bytes) =>
            {
                Assert.True(bytes.SequenceEqual(Slice(data, i)), $"chunk {i} reached verification intact");
                verified.Enqueue(i);
            },
            (i, bytes) =>
            {
                written.Add(i);
                bytes.CopyTo(copy.AsSpan(i * ChunkSize));
            },
            CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 40), verified);
        Assert.Equal(Enumerable.Range(0, 40), written);
        Assert.Equal(data, copy);
        // 40 chunks went through 4 buffers: the stages overlapped and recycled them.
        Assert.Equal(40, wire.Received.Count);
    }

    [Fact]
    public async Task A_chunk_failing_verification_mid_run_stops_receiving_and_nothing_after_it_is_written()
    {
        var data = RandomNumberGenerator.GetBytes(40 * ChunkSize);
        var wire = new Wire(data) { Corrupt = 17 };
        var written = new List<int>();

        var ex = await Assert.ThrowsAsync<CorruptChunkException>(() => ChunkPipeline.RunAsync(0, 39, ChunkSize, Depth, wire.ReceiveAsync,
            (i, bytes) =>
            {
                if (!bytes.SequenceEqual(Slice(data, i)))
                    throw new CorruptChunkException($"chunk {i}");
            },
            (i, _) => written.Add(i),
            CancellationToken.None));

        Assert.Equal("chunk 17", ex.Message);
        Assert.Equal(Enumerable.Range(0, 17), written);
        // Receiving stopped: never more than the buffers' worth past the last chunk written.
        Assert.True(wire.Received.Count <= 17 + Depth, $"received {wire.Received.Count} chunks");
    }

    [Fact]
    public async Task Chunks_received_before_the_connection_broke_are_still_verified_and_written()
    {
        var data = RandomNumberGenerator.GetBytes(40 * ChunkSize);
        var wire = new Wire(data) { BreakAt = 10 };
        var verified = new ConcurrentQueue<int>();
        var written = new List<int>();

        var ex = await Assert.ThrowsAsync<IOException>(() => ChunkPipeline.RunAsync(0, 39, ChunkSize, Depth, wire.ReceiveAsync,
            (i, _) => verified.Enqueue(i), (i, _) => written.Add(i), CancellationToken.None));

        Assert.Equal("connection reset in chunk 10", ex.Message);
        Assert.Equal(Enumerable.Range(0, 10), verified);
        Assert.Equal(Enumerable.Range(0, 10), written);
    }

    [Fact]
    public async Task A_failed_write_stops_the_run_and_is_the_error_reported()
    {
        var data = RandomNumberGenerator.GetBytes(40 * ChunkSize);
        var wire = new Wire(data);
        var written = new List<int>();

        var ex = await Assert.ThrowsAsync<IOException>(() => ChunkPipeline.RunAsync(0, 39, ChunkSize, Depth, wire.ReceiveAsync,
            (_, _) => { },
            (i, _) =>
            {
                if (i == 5)
                    throw new IOException("No space left on device");
                written.Add(i);
            },
            CancellationToken.None));

        Assert.Equal("No space left on device", ex.Message);
        Assert.Equal(Enumerable.Range(0, 5), written);
        Assert.True(wire.Received.Count <= 5 + Depth, $"received {wire.Received.Count} chunks");
    }

    [Fact]
    public async Task Cancelled_run_still_writes_the_chunks_it_had_received()
    {
        var data = RandomNumberGenerator.GetBytes(40 * ChunkSize);
        using var cancel = new CancellationTokenSource();
        var wire = new Wire(data) { StallAt = 8, OnStall = cancel.Cancel };
        var written = new List<int>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ChunkPipeline.RunAsync(0, 39, ChunkSize, Depth, wire.ReceiveAsync,
            (_, _) => { }, (i, _) => written.Add(i), cancel.Token));

        Assert.Equal(Enumerable.Range(0, 8), written);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_single_chunk_run_is_verified_before_it_is_written(bool corrupt)
    {
        var data = RandomNumberGenerator.GetBytes(3 * ChunkSize);
        var wire = new Wire(data) { Corrupt = corrupt ? 2 : -1 };
        var steps = new List<string>();

        var run = ChunkPipeline.RunAsync(2, 2, ChunkSize, Depth, wire.ReceiveAsync,
            (i, bytes) =>
            {
                steps.Add($"verify {i}");
                if (!bytes.SequenceEqual(Slice(data, i)))
                    throw new CorruptChunkException($"chunk {i}");
            },
            (i, _) => steps.Add($"write {i}"),
            CancellationToken.None);

        if (corrupt)
        {
            await Assert.ThrowsAsync<CorruptChunkException>(() => run);
            Assert.Equal(["verify 2"], steps);
        }
        else
        {
            await run;
            Assert.Equal(["verify 2", "write 2"], steps);
        }
    }

    [Fact]
    public async Task Corruption_mid_transfer_leaves_later_chunks_missing_on_disk_and_the_resumed_transfer_verifies()
    {
        using var dir = new TempDirectory("pipe");
        const int Chunks = 24;
        var data = RandomNumberGenerator.GetBytes(Chunks * ChunkSize - 777);
        var hashes = Enumerable.Range(0, Chunks).Select(i => Convert.ToHexStringLower(SHA256.HashData(Slice(data, i)))).ToList();
        var sha = Convert.ToHexStringLower(SHA256.HashData(data));

        using (var partial = PartialFile.Open(dir.Path, sha, data.Length, ChunkSize, hashes))
        {
            await Assert.ThrowsAsync<CorruptChunkException>(() => RunOnDisk(partial, new Wire(data) { Corrupt = 11 }, 0, hashes));
            Assert.Equal(11, partial.FirstMissing());
            for (var i = 12; i < Chunks; i++)
                Assert.False(partial.IsDone(i), $"chunk {i} after the corrupt one was not written");
        }

        // Resume as after a restart: the chunks on disk are re-hashed, the rest fetched and verified.
        using (var partial = PartialFile.Open(dir.Path, sha, data.Length, ChunkSize, hashes))
        {
            Assert.Equal(11, partial.ResumedChunks);
            var wire = new Wire(data);
            await RunOnDisk(partial, wire, partial.FirstMissing(), hashes);
            Assert.Equal(-1, partial.FirstMissing());
            Assert.Equal(11, wire.Received.Min());
            await partial.FlushToDiskAsync();
        }
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(dir.Path, sha + ".part")));
    }

    private static Task RunOnDisk(PartialFile partial, Wire wire, int first, List<string> hashes) =>
        ChunkPipeline.RunAsync(first, hashes.Count - 1, ChunkSize, Depth, wire.ReceiveAsync,
            (i, bytes) =>
            {
                if (!ChunkHash.Matches(bytes, hashes[i]))
                    throw new CorruptChunkException($"chunk {i}");
            },
            (i, bytes) => partial.WriteVerified(i, (long)i * ChunkSize, bytes),
            CancellationToken.None);

    private static ReadOnlySpan<byte> Slice(byte[] data, int index) =>
        data.AsSpan(index * ChunkSize, Math.Min(ChunkSize, data.Length - index * ChunkSize));

    /// <summary>Plays the network: copies each chunk of <c>data</c> into the pipeline's buffer, asynchronously.</summary>
    private sealed class Wire(byte[] data)
    {
        public int Corrupt { get; init; } = -1;
        public int BreakAt { get; init; } = -1;
        public int StallAt { get; init; } = -1;
        public Action? OnStall { get; init; }
        public ConcurrentQueue<int> Received { get; } = new();

        public async ValueTask<int> ReceiveAsync(int index, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (index == BreakAt)
                throw new IOException($"connection reset in chunk {index}");
            if (index == StallAt)
            {
                OnStall?.Invoke();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            var chunk = Slice(data, index);
            chunk.CopyTo(buffer.Span);
            if (index == Corrupt)
                buffer.Span[chunk.Length / 2] ^= 0xFF;
            Received.Enqueue(index);
            return chunk.Length;
        }
    }
}
