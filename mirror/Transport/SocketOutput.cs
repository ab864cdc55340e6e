using System.IO.Pipelines;
using System.Net.Sockets;
using Downloads.Mirror.Reporting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Downloads.Mirror.Transport;

/// <summary>
/// A client connection's output, sent to its socket by this writer itself so that a file can follow the
/// response headers with sendfile(2) — page cache to socket inside the kernel, as nginx serves files —
/// instead of being read into user space and copied through Kestrel's pipe (Kestrel has no kernel
/// sendfile). Kestrel's socket transport sends from its own pipe on its own loop and cannot say when that
/// pipe has drained, so a writer that puts a file on the socket behind the headers must do all the sends.
/// <para>
/// <see cref="ExpectFile"/> announces a file range; the next that-many bytes written are stand-ins: Kestrel
/// writes and counts a body of the right length (its Content-Length check and its minimum data rate
/// keep working unchanged), this writer drops them and sends the file's bytes in their place. Every byte
/// the kernel accepts is counted once in <see cref="TrafficCounters"/>, also when a send fails part-way.
/// </para>
/// Kestrel serialises writes to a connection's output, so this class takes no locks.
/// </summary>
internal sealed class SocketOutput : PipeWriter, IAsyncDisposable
{
    /// <summary>Stand-in bytes per write: small enough that copying them into <see cref="Discard"/> stays in cache.</summary>
    public const int StandInSize = 64 * 1024;

    // Most file bytes per sendfile call.
    private const int SendFileChunk = 1024 * 1024;

    // Where stand-ins land; shared by every connection because nothing ever reads it.
    private static readonly byte[] Discard = new byte[StandInSize];

    private readonly Socket _socket;
    private readonly ConnectionContext _connection;
    private readonly TrafficCounters _counters;
    private readonly Pipe _unsent;
    private FileSender? _fileSender;
    private FileStream? _file;
    private long _fileOffset;   // the file's next byte to send
    private long _fileReady;    // stand-ins written whose file bytes are not sent yet
    private long _fileExpected; // stand-ins still to come
    private bool _closed;       // the connection failed or was aborted: writes go nowhere
    private bool _completed;
    private int _cancelFlush;

    public SocketOutput(Socket socket, ConnectionContext connection, TrafficCounters counters)
    {
        _socket = socket;
        _connection = connection;
        _counters = counters;
        // Bytes written and not sent yet, in Kestrel's own buffers; never pauses (each flush sends it all).
        _unsent = new Pipe(new PipeOptions(connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool,
            PipeScheduler.Inline, PipeScheduler.Inline, pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unsent.Writer.UnflushedBytes + _fileReady;

    /// <summary>
    /// The next <paramref name="count"/> bytes written stand for bytes <paramref name="offset"/>… of
    /// <paramref name="file"/>, which must stay open until <see cref="EndFile"/>.
    /// </summary>
    public void ExpectFile(FileStream file, long offset, long count)
    {
        if (_fileExpected > 0 || _fileReady > 0)
            throw new InvalidOperationException("A file range is already being sent on this connection.");
        if (_closed || count <= 0)
            return;
        _file = file;
        _fileOffset = offset;
        _fileExpected = count;
    }

    /// <summary>
    /// Ends the file range. Stopped part-way (the client went, the request was aborted), the response is
    /// short of its Content-Length and the connection cannot carry another one: it is closed.
    /// </summary>
    public void EndFile()
    {
        if (_fileExpected > 0 || _fileReady > 0)
            Close(new ConnectionAbortedException("A file response stopped before its end."));
        _file = null;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_fileExpected > 0 || _closed || _completed)
            return sizeHint <= Discard.Length ? Discard : new byte[sizeHint];
        ThrowIfFileBytesUnsent();
        return _unsent.Writer.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (_closed || _completed)
            return;
        if (_fileExpected > 0)
        {
            if (bytes > _fileExpected)
                throw new InvalidOperationException($"{bytes} bytes written where {_fileExpected} stand-ins for a file range were announced.");
            _fileExpected -= bytes;
            _fileReady += bytes;
            return;
        }
        _unsent.Writer.Advance(bytes);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_closed)
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        // While a range's stand-ins are still coming, its bytes go once a chunk is ready: one sendfile per
        // chunk, not one per stand-in write. Kestrel's data-rate clock allows for the bytes all the same.
        var sendFile = _fileReady > 0 && (_fileExpected == 0 || _fileReady >= SendFileChunk);
        if (!sendFile && _unsent.Writer.UnflushedBytes == 0)
            return new ValueTask<FlushResult>(new FlushResult(Interlocked.Exchange(ref _cancelFlush, 0) == 1, isCompleted: false));
        return SendAsync(sendFile, cancellationToken);
    }

    public override void CancelPendingFlush() => Interlocked.Exchange(ref _cancelFlush, 1);

    /// <summary>No more writes; what is written and unsent still goes when the connection ends (<see cref="DisposeAsync"/>).</summary>
    public override void Complete(Exception? exception = null)
    {
        _completed = true;
        if (exception is not null)
            _closed = true;
    }

    /// <summary>Sends what is left (unless the connection failed) and returns the buffers; called once the connection is done.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_closed && _unsent.Writer.UnflushedBytes > 0)
            await SendAsync(sendFile: false, CancellationToken.None);
        _closed = true;
        await _unsent.Writer.CompleteAsync();
        await _unsent.Reader.CompleteAsync();
        _fileSender?.Dispose();
    }

    private async ValueTask<FlushResult> SendAsync(bool sendFile, CancellationToken cancellationToken)
    {
        try
        {
            if (_unsent.Writer.UnflushedBytes > 0)
            {
                // Completes at once: the pipe never pauses its writer.
                await _unsent.Writer.FlushAsync(CancellationToken.None);
                _unsent.Reader.TryRead(out var read);
                foreach (var segment in read.Buffer)
                    await SendBytesAsync(segment, cancellationToken);
                _unsent.Reader.AdvanceTo(read.Buffer.End);
            }
            while (sendFile && _fileReady > 0)
            {
                var result = await (_fileSender ??= new FileSender()).SendAsync(_socket, _file!, _fileOffset, (int)Math.Min(_fileReady, SendFileChunk));
                _counters.AddFileBytes(result.Sent);
                if (result.Error != SocketError.Success)
                    throw new SocketException((int)result.Error);
                if (result.Sent == 0)
                    throw new IOException("The file ended before the range being sent (changed on disk?).");
                _fileOffset += result.Sent;
                _fileReady -= result.Sent;
            }
            return new FlushResult(Interlocked.Exchange(ref _cancelFlush, 0) == 1, isCompleted: false);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // A send that failed or was cancelled part-way leaves the client with a broken stream: end the
            // connection, as Kestrel's transport does when its sends fail.
            Close(e);
            return new FlushResult(isCanceled: false, isCompleted: true);
        }
    }

    private async ValueTask SendBytesAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            _counters.AddBytes(sent);
            bytes = bytes[sent..];
        }
    }

    private void Close(Exception reason)
    {
        if (_closed)
            return;
        _closed = true;
        _file = null;
        _fileExpected = 0;
        _fileReady = 0;
        _connection.Abort(reason as ConnectionAbortedException ?? new ConnectionAbortedException("Sending to the client failed.", reason));
    }

    private void ThrowIfFileBytesUnsent()
    {
        if (_fileReady > 0)
            throw new InvalidOperationException("Bytes written after a file range before it was flushed; they would reach the client before the file.");
    }
}
