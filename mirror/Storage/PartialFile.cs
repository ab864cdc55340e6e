using System.Buffers;
using Downloads.Contracts.Manifests;
using Microsoft.Win32.SafeHandles;

namespace Downloads.Mirror.Storage;

/// <summary>
/// A file being fetched: <c>{sha}.part</c> holds the bytes at their final offsets and
/// <c>{sha}.chunks</c> one byte per chunk, set to 1 only after that chunk verified and was written.
/// Both survive a crash or restart, so verified chunks are not fetched again. On open, chunks marked
/// done are re-hashed from disk (a local read, far cheaper than a refetch), which also catches a
/// record that reached the disk before its data did. Written by one writer at a time.
/// </summary>
public sealed class PartialFile : IDisposable
{
    /// <summary>Bytes written between two background flushes.</summary>
    public const long FlushBehindBytes = 64L * 1024 * 1024;

    private readonly SafeFileHandle _data;
    private readonly SafeFileHandle _record;
    // The same file opened for direct writes; null where not available (DirectIo) or after the file system refused one.
    private SafeFileHandle? _direct;
    private readonly byte[] _done;
    private Task _flushing = Task.CompletedTask;
    private long _unflushed;

    private PartialFile(string dataPath, SafeFileHandle data, SafeFileHandle record, byte[] done, SafeFileHandle? direct)
    {
        DataPath = dataPath;
        _data = data;
        _record = record;
        _done = done;
        _direct = direct;
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
        // Direct I/O pays off for large transfers; a file smaller than a chunk is not worth a second open.
        var direct = size >= chunkSize ? DirectIo.TryOpenForWrite(dataPath) : null;
        var partial = new PartialFile(dataPath, data, record, done, direct);
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
                if (read == length && ChunkHash.Matches(buffer.AsSpan(0, length), chunkHashes[i]))
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

    /// <summary>Whether chunk writes currently bypass the page cache (see <see cref="DirectIo"/>).</summary>
    public bool WritesDirect => _direct is not null;

    /// <summary>
    /// Writes a verified chunk at its offset, then records it as done (data before record). Every
    /// <see cref="FlushBehindBytes"/> a flush of what was written so far starts in the background, so
    /// the disk works while the transfer goes on and the fsync before the file goes live finds little
    /// left to do; the writer never waits for it. With direct I/O, the whole
    /// <see cref="DirectIo.Alignment"/>-sized blocks of <paramref name="bytes"/> go straight to the disk
    /// (they must start on an aligned address, as <see cref="Sync.ChunkBuffers"/> do) and a short tail
    /// through the page cache.
    /// </summary>
    public void WriteVerified(int index, long offset, ReadOnlySpan<byte> bytes)
    {
        var buffered = bytes;
        if (_direct is not null && offset % DirectIo.Alignment == 0)
        {
            var aligned = bytes.Length / DirectIo.Alignment * DirectIo.Alignment;
            if (aligned > 0 && TryWriteDirect(bytes[..aligned], offset))
            {
                buffered = bytes[aligned..];
                offset += aligned;
            }
        }
        // Synchronous: a buffered write only copies into the page cache; an async one would hand the same call to another pool thread.
        if (buffered.Length > 0)
            RandomAccess.Write(_data, buffered, offset);
        _done[index] = 1;
        RandomAccess.Write(_record, new ReadOnlySpan<byte>(_done, index, 1), index);
        _unflushed += bytes.Length;
        if (_unflushed < FlushBehindBytes || !_flushing.IsCompleted)
            return;
        // A failed background flush must fail the file: Linux reports a writeback error to one fsync only.
        _flushing.GetAwaiter().GetResult();
        _unflushed = 0;
        _flushing = Task.Run(() => RandomAccess.FlushToDisk(_data));
    }

    private bool TryWriteDirect(ReadOnlySpan<byte> bytes, long offset)
    {
        try
        {
            RandomAccess.Write(_direct!, bytes, offset);
            return true;
        }
        catch (IOException ex) when (ex.HResult == DirectIo.InvalidArgument)
        {
            // A misaligned buffer, or a file system that takes the flag but not the write: the caller writes
            // these bytes (whatever part of them landed) and the rest of the file through the page cache.
            _direct!.Dispose();
            _direct = null;
            return false;
        }
    }

    private void MarkMissing(int index)
    {
        _done[index] = 0;
        RandomAccess.Write(_record, new ReadOnlySpan<byte>(_done, index, 1), index);
    }

    /// <summary>Flushes the bytes to disk before the file is renamed into the object store; throws if a background flush failed.</summary>
    public async Task FlushToDiskAsync()
    {
        await _flushing;
        RandomAccess.FlushToDisk(_data);
    }

    /// <summary>Deletes the chunk record once the data file has become an object.</summary>
    public static void DeleteRecord(string partialDir, string sha256) => File.Delete(Path.Combine(partialDir, sha256 + ".chunks"));

    /// <inheritdoc />
    public void Dispose()
    {
        // Not while a background flush may still use the handle; its failure no longer matters here.
        try
        {
            _flushing.Wait();
        }
        catch (AggregateException)
        {
        }
        _data.Dispose();
        _direct?.Dispose();
        _record.Dispose();
    }
}
