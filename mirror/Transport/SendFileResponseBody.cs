using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Downloads.Mirror.Transport;

/// <summary>
/// A file response's body on a connection whose HTTP layer writes straight to a <see cref="SocketOutput"/>
/// (HTTP/1.x without TLS): <see cref="SendFileAsync"/> announces the range to the output and writes
/// stand-ins of the same length through Kestrel, and the output sends the file with sendfile in their
/// place. Everything else is Kestrel's own body feature, and so is everything on other connections.
/// </summary>
internal sealed class SendFileResponseBody(IHttpResponseBodyFeature inner, SocketOutput output, HttpContext context) : IHttpResponseBodyFeature
{
    private static readonly ReadOnlyMemory<byte> StandIns = new byte[SocketOutput.StandInSize];

    /// <summary>Makes this response's <c>SendFileAsync</c> use sendfile when its connection allows it; says whether it does.</summary>
    public static bool Use(HttpContext context)
    {
        // The socket output must be what the HTTP layer writes to (a TLS layer between them would turn the
        // stand-ins into body bytes), and the body must go unframed (HTTP/2 frames it).
        if (context.Features.Get<IConnectionTransportFeature>()?.Transport?.Output is not SocketOutput output
            || !(HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
            || context.Features.Get<IHttpResponseBodyFeature>() is not { } inner)
            return false;
        context.Features.Set<IHttpResponseBodyFeature>(new SendFileResponseBody(inner, output, context));
        return true;
    }

    public Stream Stream => inner.Stream;

    public PipeWriter Writer => inner.Writer;

    public void DisableBuffering() => inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

    public Task CompleteAsync() => inner.CompleteAsync();

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
        var length = file.Length;
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, length);
        var remaining = count ?? length - offset;
        ArgumentOutOfRangeException.ThrowIfNegative(remaining, nameof(count));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(remaining, length - offset, nameof(count));

        await inner.StartAsync(cancellationToken);
        output.ExpectFile(file, offset, remaining);
        try
        {
            while (remaining > 0)
            {
                // Not cancelled by the token: a cancelled write would leave a sendfile running after this
                // request ends (its bytes uncounted, its file closed under it). An abort closes the socket,
                // which ends the send at once; the token is only looked at between writes.
                var standIns = StandIns[..(int)Math.Min(remaining, StandIns.Length)];
                var flushed = await inner.Writer.WriteAsync(standIns, CancellationToken.None);
                remaining -= standIns.Length;
                if (flushed.IsCompleted || flushed.IsCanceled || (remaining > 0 && cancellationToken.IsCancellationRequested))
                {
                    // The client is gone: say so to Kestrel now, so it does not report the short body as an app error.
                    context.Abort();
                    return;
                }
            }
        }
        finally
        {
            output.EndFile();
        }
    }
}
