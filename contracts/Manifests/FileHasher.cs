using System.Buffers;
using System.Security.Cryptography;

namespace Downloads.Contracts.Manifests;

/// <summary>Hashes a file once, producing its whole-file SHA-256 and the per-chunk SHA-256 list.</summary>
public static class FileHasher
{
    /// <summary>Reads <paramref name="stream"/> to the end; returns (sha256 hex, chunk hashes hex, length).</summary>
    public static async Task<(string Sha256, IReadOnlyList<string> Chunks, long Length)> HashAsync(
        Stream stream, int chunkSize, CancellationToken cancellationToken = default)
    {
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var chunk = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunks = new List<string>();
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            long total = 0;
            var inChunk = 0;
            while (true)
            {
                var want = Math.Min(buffer.Length, chunkSize - inChunk);
                var read = await stream.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    break;
                whole.AppendData(buffer, 0, read);
                chunk.AppendData(buffer, 0, read);
                inChunk += read;
                total += read;
                if (inChunk == chunkSize)
                {
                    chunks.Add(ChunkHash.Hex(chunk.GetHashAndReset()));
                    inChunk = 0;
                }
            }
            if (inChunk > 0)
                chunks.Add(ChunkHash.Hex(chunk.GetHashAndReset()));
            return (ChunkHash.Hex(whole.GetHashAndReset()), chunks, total);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Number of chunks a file of <paramref name="size"/> bytes has.</summary>
    public static int ChunkCount(long size, int chunkSize) => size == 0 ? 0 : (int)((size + chunkSize - 1) / chunkSize);
}
