using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Downloads.Mirror.Storage;

/// <summary>
/// A file being fetched: <c>{sha}.part</c> holds the bytes at their final offsets and
/// <c>{sha}.chunks</c> one byte per chunk, set to 1 only after that chunk verified and was written.
/// Both survive a crash or restart, so verified chunks are not fetched again. On open, chunks marked
/// done are re-hashed from disk (a local read, far cheaper than a refetch), which also catches a
/// record that reached the disk before its data did.
/// </summary>
public sealed class PartialFile : IDisposable
{
    private readonly SafeFileHandle _data;
    private readonly SafeFileHandle _record;
    private readonly byte[] _done;

    private PartialFile(string dataPath, SafeFileHandle data, SafeFileHandle record, byte[] done)
    {
        DataPath = dataPath;
        _data = data;
        _record = record;
        _done = done;
    }

    /// <summary>Path of the bytes.</summary>
    public string DataPath { get; }

    /// <summary>Chunks verified before this session started (resumed, not fetched again).</summary>
    public int ResumedChunks { get; private set; }

    /// <summary>Number of chunks.</summary>
    public int ChunkCount => _done.Length;

    /// <summary>Opens or creates the partial of a file and re-checks the chunks its record marks done.</summary>
    public static PartialFile Open(string partialDir, string sha256, long size, int chunkSize, IReadOnlyList<string> chunkHashes)
    {
        var dataPath = Path.Combine(partialDir, sha256 + ".part");
        var recordPath = Path.Combine(partialDir, sha256 + ".chunks");
        var data = File.OpenHandle(dataPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var record = File.OpenHandle(recordPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var done = new byte[chunkHashes.Count];
        if (RandomAccess.GetLength(record) == done.Length && RandomAccess.GetLength(data) == size)
            RandomAccess.Read(record, done, 0);
        else
        {
            RandomAccess.SetLength(data, size);
            RandomAccess.SetLength(record, 0);
            RandomAccess.SetLength(record, done.Length);
        }
        var partial = new PartialFile(dataPath, data, record, done);
        partial.Recheck(size, chunkSize, chunkHashes);
        return partial;
    }

    private void Recheck(long size, int chunkSize, IReadOnlyList<string> chunkHashes)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        try
        {
            for (var i = 0; i < _done.Length; i++)
            {
                if (_done[i] == 0)
                    continue;
                var offset = (long)i * chunkSize;
                var length = (int)Math.Min(chunkSize, size - offset);
                var read = RandomAccess.Read(_data, buffer.AsSpan(0, length), offset);
                if (read == length && Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length))) == chunkHashes[i])
                    ResumedChunks++;
                else
                    MarkMissing(i);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether chunk <paramref name="index"/> is verified on disk.</summary>
    public bool IsDone(int index) => _done[index] != 0;

    /// <summary>The first chunk at or after <paramref name="from"/> not yet verified, or -1.</summary>
    public int FirstMissing(int from = 0)
    {
        for (var i = from; i < _done.Length; i++)
        {
            if (_done[i] == 0)
                return i;
        }
        return -1;
    }

    /// <summary>Writes a verified chunk at its offset, then records it as done (data before record).</summary>
    public async ValueTask WriteVerifiedAsync(int index, long offset, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await RandomAccess.WriteAsync(_data, bytes, offset, cancellationToken);
        _done[index] = 1;
        await RandomAccess.WriteAsync(_record, new ReadOnlyMemory<byte>(_done, index, 1), index, cancellationToken);
    }

    private void MarkMissing(int index)
    {
        _done[index] = 0;
        RandomAccess.Write(_record, new ReadOnlySpan<byte>(_done, index, 1), index);
    }

    /// <summary>Flushes the bytes to disk before the file is renamed into the object store.</summary>
    public void FlushToDisk() => RandomAccess.FlushToDisk(_data);

    /// <summary>Deletes the chunk record once the data file has become an object.</summary>
    public static void DeleteRecord(string partialDir, string sha256) => File.Delete(Path.Combine(partialDir, sha256 + ".chunks"));

    /// <inheritdoc />
    public void Dispose()
    {
        _data.Dispose();
        _record.Dispose();
    }
}
