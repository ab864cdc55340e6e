using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Downloads.Mirror.Transport;

/// <summary>
/// Sends a range of an open file to a socket with the kernel's sendfile(2) (.NET's
/// <see cref="Socket.SendPacketsAsync"/> with a file element does exactly that on Linux), as an
/// awaitable that one connection reuses for every range it sends.
/// </summary>
internal sealed class FileSender : SocketAsyncEventArgs, IValueTaskSource<FileSender.Result>
{
    private ManualResetValueTaskSourceCore<Result> _source;

    public FileSender() : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Bytes the kernel took (also when the send failed part-way) and how it ended.</summary>
    public readonly record struct Result(long Sent, SocketError Error);

    /// <summary>Sends <paramref name="count"/> (&gt; 0) bytes of <paramref name="file"/> from <paramref name="offset"/>.</summary>
    public ValueTask<Result> SendAsync(Socket socket, FileStream file, long offset, int count)
    {
        _source.Reset();
        SendPacketsElements = [new SendPacketsElement(file, offset, count)];
        if (!socket.SendPacketsAsync(this))
            Complete();
        return new ValueTask<Result>(this, _source.Version);
    }

    protected override void OnCompleted(SocketAsyncEventArgs e) => Complete();

    private void Complete()
    {
        SendPacketsElements = null;
        _source.SetResult(new Result(BytesTransferred, SocketError));
    }

    Result IValueTaskSource<Result>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<Result>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<Result>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);
}
