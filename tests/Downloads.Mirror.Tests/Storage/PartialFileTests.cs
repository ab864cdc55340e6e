using System.Security.Cryptography;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Storage;

public class PartialFileTests
{
    private const int ChunkSize = 64 * 1024;

    [Fact]
    public async Task Chunks_written_in_any_order_land_at_their_offsets_including_an_unaligned_tail()
    {
        using var dir = new TempDirectory("partial");
        var (data, hashes, sha) = Sample(5 * ChunkSize - 123);
        using var buffers = new ChunkBuffers(ChunkSize, 1);
        Assert.True(buffers.TryRent(out var buffer));
        using (var partial = PartialFile.Open(dir.Path, sha, data.Length, ChunkSize, hashes))
        {
            foreach (var i in new[] { 4, 0, 2, 1, 3 })
            {
                var chunk = Chunk(data, i);
                chunk.CopyTo(buffer.Span);
                partial.WriteVerified(i, (long)i * ChunkSize, buffer.Span[..chunk.Length]);
            }
            Assert.Equal(-1, partial.FirstMissing());
            // The pipeline's buffers are what direct I/O needs: no write was refused where it is offered.
            Assert.Equal(DirectIoAvailable(dir), partial.WritesDirect);
            await partial.FlushToDiskAsync();
        }
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(dir.Path, sha + ".part")));
    }

    [Fact]
    public async Task A_buffer_direct_io_refuses_is_written_through_the_page_cache()
    {
        using var dir = new TempDirectory("partial");
        var (data, hashes, sha) = Sample(3 * ChunkSize);
        // Off by one byte from any page boundary a pool array may start on.
        var misaligned = new byte[ChunkSize + 1];
        using (var partial = PartialFile.Open(dir.Path, sha, data.Length, ChunkSize, hashes))
        {
            for (var i = 0; i < 3; i++)
            {
                var chunk = Chunk(data, i);
                chunk.CopyTo(misaligned.AsSpan(1));
                partial.WriteVerified(i, (long)i * ChunkSize, misaligned.AsSpan(1, chunk.Length));
            }
            Assert.False(partial.WritesDirect);
            await partial.FlushToDiskAsync();
        }
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(dir.Path, sha + ".part")));
    }

    [Fact]
    public void Reopened_partial_keeps_verified_chunks_and_drops_one_damaged_on_disk()
    {
        using var dir = new TempDirectory("partial");
        var (data, hashes, sha) = Sample(4 * ChunkSize);
        using (var partial = PartialFile.Open(dir.Path, sha, data.Length, ChunkSize, hashes))
        {
            for (var i = 0; i < 3; i++)
                partial.WriteVerified(i, (long)i * ChunkSize, Chunk(data, i));
        }
        // A record that reached the disk while its data did not (power cut): chunk 1 reads back wrong.
        using (var file = File.OpenHandle(Path.Combine(dir.Path, sha + ".part"), FileMode.Open, FileAccess.Write))
            RandomAccess.Write(file, new byte[100], ChunkSize + 5);

        using var reopened = PartialFile.Open(dir.Path, sha, data.Length, ChunkSize, hashes);
        Assert.Equal(2, reopened.ResumedChunks);
        Assert.True(reopened.IsDone(0));
        Assert.False(reopened.IsDone(1));
        Assert.True(reopened.IsDone(2));
        Assert.Equal(1, reopened.FirstMissing());
    }

    private static bool DirectIoAvailable(TempDirectory dir)
    {
        var probe = dir.Combine("probe");
        File.WriteAllBytes(probe, []);
        using var handle = DirectIo.TryOpenForWrite(probe);
        return handle is not null;
    }

    private static (byte[] Data, List<string> Hashes, string Sha) Sample(int size)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        var chunks = (size + ChunkSize - 1) / ChunkSize;
        var hashes = Enumerable.Range(0, chunks).Select(i => Convert.ToHexStringLower(SHA256.HashData(Chunk(data, i)))).ToList();
        return (data, hashes, Convert.ToHexStringLower(SHA256.HashData(data)));
    }

    private static ReadOnlySpan<byte> Chunk(byte[] data, int index) =>
        data.AsSpan(index * ChunkSize, Math.Min(ChunkSize, data.Length - index * ChunkSize));
}
