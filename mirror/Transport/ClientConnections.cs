using System.IO.Pipelines;
using Downloads.Mirror.Limits;
using Microsoft.AspNetCore.Connections;

namespace Downloads.Mirror.Reporting;

/// <summary>
/// Kestrel connection middleware (<c>ListenOptions.Use</c>): counts open connections and wraps the
/// transport's output so every byte handed to the socket is counted once, with one interlocked add
/// per write. Why at the transport rather than around the response body: file responses
/// (<c>Results.File</c>) go through <c>IHttpResponseBodyFeature.SendFileAsync</c>, which Kestrel
/// implements by copying the file into this same pipe (Kestrel has no kernel sendfile), so counting
/// here neither changes that path nor misses it, and it also sees headers and aborted transfers.
/// Installed before TLS, it counts what leaves the host (TLS overhead included) — the bytes a quota bills.
/// </summary>
internal static class CountingTransport
{
    public static ConnectionDelegate Wrap(ConnectionDelegate next, TrafficCounters counters) => async connection =>
    {
        var open = counters.ConnectionOpened();
        connection.Features.Set(new ConnectionAdmission(open));
        var original = connection.Transport;
        connection.Transport = new CountingDuplexPipe(original, counters);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = original;
            counters.ConnectionClosed();
        }
    };

    private sealed class CountingDuplexPipe(IDuplexPipe inner, TrafficCounters counters) : IDuplexPipe
    {
        public PipeReader Input { get; } = inner.Input;

        public PipeWriter Output { get; } = new CountingPipeWriter(inner.Output, counters);
    }

    private sealed class CountingPipeWriter(PipeWriter inner, TrafficCounters counters) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            counters.AddBytes(bytes);
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            counters.AddBytes(source.Length);
            return inner.WriteAsync(source, cancellationToken);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
