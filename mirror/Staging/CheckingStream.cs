using System.Security.Cryptography;
using Downloads.Contracts.Manifests;

namespace Downloads.Mirror.Staging;

/// <summary>A write-through stream that checks each plaintext chunk and the whole file against the signed manifest entry.</summary>
internal sealed class CheckingStream(Stream inner, ManifestFile file, int chunkSize) : Stream
{
    private readonly IncrementalHash _whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _chunk = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _written;
    private int _inChunk;
    private int _chunks;
    private bool _bad;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _written;
    public override long Position { get => _written; set => throw new NotSupportedException(); }

    /// <summary>True when every byte matched the entry.</summary>
    public bool Finish()
    {
        if (_inChunk > 0)
            EndChunk();
        return !_bad && _written == file.Size && _chunks == file.Chunks.Count
            && Convert.ToHexStringLower(_whole.GetHashAndReset()) == file.Sha256;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Check(buffer);
        inner.Write(buffer);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Check(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _whole.Dispose();
            _chunk.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Check(ReadOnlySpan<byte> data)
    {
        _whole.AppendData(data);
        _written += data.Length;
        while (data.Length > 0)
        {
            var take = Math.Min(chunkSize - _inChunk, data.Length);
            _chunk.AppendData(data[..take]);
            _inChunk += take;
            data = data[take..];
            if (_inChunk == chunkSize)
                EndChunk();
        }
    }

    private void EndChunk()
    {
        var hash = Convert.ToHexStringLower(_chunk.GetHashAndReset());
        if (_chunks >= file.Chunks.Count || hash != file.Chunks[_chunks])
            _bad = true;
        _chunks++;
        _inChunk = 0;
    }
}
