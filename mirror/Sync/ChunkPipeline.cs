using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Downloads.Mirror.Sync;

/// <summary>
/// Overlaps receiving, verifying and writing for one run of chunks, in three stages joined by
/// channels: the caller's loop receives chunk after chunk into buffers (<see cref="ChunkBuffers"/>),
/// a verify task hashes each full chunk against the manifest, and a write task writes the verified
/// ones, in order. Up to <c>depth</c> chunks are in flight, so a pause in one stage (a slow disk
/// write, a thread that lost its core for a moment) does not stall the others.
/// </summary>
/// <remarks>
/// Failure rules, which the resume logic relies on: when receiving fails, every chunk already
/// received is still verified and written before the failure is rethrown (a retry does not fetch
/// them again); when a chunk fails verification, receiving is cancelled, the chunks verified before
/// it are written, no later one is, and the verification failure is the exception thrown; when a
/// write fails, everything stops and the write failure is thrown. No buffer is touched after
/// <see cref="RunAsync"/> returns.
/// </remarks>
internal static class ChunkPipeline
{
    /// <summary>
    /// Bytes of chunk buffers one transfer may hold: 4 chunks of the default 4 MiB, one per stage and one
    /// to spare (12, 24 and 48 MiB measured the same on the throughput bench).
    /// </summary>
    public const int InFlightBytes = 16 * 1024 * 1024;

    /// <summary>Fills <paramref name="buffer"/> with chunk <paramref name="index"/> and returns its length.</summary>
    public delegate ValueTask<int> Receive(int index, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>One stage's work on a received chunk; throws to stop the run.</summary>
    public delegate void Stage(int index, ReadOnlySpan<byte> bytes);

    /// <summary>Chunk buffers for <paramref name="chunkSize"/>: <see cref="InFlightBytes"/> worth, at least one per stage, at most 16.</summary>
    public static int DepthFor(int chunkSize) => Math.Clamp(InFlightBytes / Math.Max(1, chunkSize), 3, 16);

    /// <summary>
    /// Receives chunks <paramref name="first"/> to <paramref name="last"/>, verifies and writes each one in
    /// order; <paramref name="bufferBytes"/> is the longest of them (the chunk size, or the whole file when smaller).
    /// </summary>
    public static async Task RunAsync(int first, int last, int bufferBytes, int depth, Receive receive, Stage verify, Stage write, CancellationToken cancellationToken)
    {
        if (first == last)
        {
            await RunOneAsync(first, bufferBytes, receive, verify, write, cancellationToken);
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var options = new UnboundedChannelOptions { SingleReader = true, SingleWriter = true };
        var received = Channel.CreateUnbounded<Chunk>(options);
        var verified = Channel.CreateUnbounded<Chunk>(options);
        var free = Channel.CreateUnbounded<Chunk>(options);
        using var buffers = new ChunkBuffers(bufferBytes, Math.Min(depth, last - first + 1));
        var verifying = Task.Run(() => StageAsync(received.Reader, verify, verified.Writer, stop), CancellationToken.None);
        var writing = Task.Run(() => StageAsync(verified.Reader, write, free.Writer, stop), CancellationToken.None);
        ExceptionDispatchInfo? receiveFailure = null;
        try
        {
            for (var i = first; i <= last; i++)
            {
                Memory<byte> buffer;
                if (free.Reader.TryRead(out var recycled))
                    buffer = recycled.Buffer;
                else if (buffers.TryRent(out var fresh))
                    buffer = fresh;
                else
                    buffer = (await free.Reader.ReadAsync(stop.Token)).Buffer;
                var length = await receive(i, buffer, stop.Token);
                received.Writer.TryWrite(new Chunk(i, buffer, length));
            }
        }
        catch (Exception ex)
        {
            receiveFailure = ExceptionDispatchInfo.Capture(ex);
        }
        received.Writer.TryComplete();
        // A stage's failure wins over the cancellation it caused here; the write stage's over the verify stage's.
        await Task.WhenAll(verifying, writing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (writing.IsFaulted)
            ExceptionDispatchInfo.Throw(writing.Exception.InnerException!);
        if (verifying.IsFaulted)
            ExceptionDispatchInfo.Throw(verifying.Exception.InnerException!);
        receiveFailure?.Throw();
    }

    // One chunk (a small file, or the last one missing): nothing to overlap, so no tasks or channels;
    // a sync of many small files is mostly this.
    private static async Task RunOneAsync(int index, int bufferBytes, Receive receive, Stage verify, Stage write, CancellationToken cancellationToken)
    {
        using var buffers = new ChunkBuffers(bufferBytes, 1);
        buffers.TryRent(out var buffer);
        var length = await receive(index, buffer, cancellationToken);
        verify(index, buffer.Span[..length]);
        write(index, buffer.Span[..length]);
    }

    private static async Task StageAsync(ChannelReader<Chunk> input, Stage work, ChannelWriter<Chunk> output, CancellationTokenSource stop)
    {
        try
        {
            // No token: chunks already received are still processed when the run is cancelled, so they are not fetched again.
            await foreach (var chunk in input.ReadAllAsync())
            {
                work(chunk.Index, chunk.Buffer.Span[..chunk.Length]);
                output.TryWrite(chunk);
            }
        }
        catch
        {
            await stop.CancelAsync();
            throw;
        }
        finally
        {
            // The next stage drains what this one passed on, then ends.
            output.TryComplete();
        }
    }

    private readonly record struct Chunk(int Index, Memory<byte> Buffer, int Length);
}
