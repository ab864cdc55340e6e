using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using Downloads.Contracts.Hosting;
using Microsoft.Extensions.Options;

namespace Downloads.Origin.Limits;

/// <summary>
/// Paces public file bodies while a verified mirror is syncing, so the mirrors keep their share of the link
/// (<see cref="BandwidthShare"/>), and counts the bytes sent to each class. The admission sets <see cref="Public"/> or
/// <see cref="Mirror"/> as the request's <see cref="ISendFileGate"/>; the file result asks it before every
/// <see cref="ChunkBytes"/>. Public chunks take tokens from one shared bucket (System.Threading.RateLimiting's
/// <see cref="TokenBucketRateLimiter"/>, first come first served, so paced downloads share the rate evenly) only while
/// a mirror transfer is active; otherwise they pass at once. Nothing is allocated per chunk unless it has to wait
/// (then the limiter queues it), nothing is logged.
/// </summary>
internal sealed class OriginPacer : IDisposable
{
    /// <summary>Bytes one public download may send per token acquisition (and between two looks at the mirrors).</summary>
    public const int ChunkBytes = 256 * 1024;

    /// <summary>
    /// How long mirrors still count as active after their last transfer ended: a sync asks for its next chunk within
    /// milliseconds, and the public should not surge into every gap between two.
    /// </summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);

    private readonly OriginLimitsOptions _options;
    private readonly TimeProvider _time;
    private readonly TokenBucketRateLimiter? _bucket;
    private readonly ITimer? _refill;
    private int _mirrorTransfers;
    private long _lastMirrorEnd;
    private long _publicBytes;
    private long _mirrorBytes;
    private long _waitedTicks;

    public OriginPacer(IOptions<OriginLimitsOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        Public = new Gate(this, mirror: false);
        Mirror = new Gate(this, mirror: true);
        if (!BandwidthShare.Enabled(_options))
            return;
        var perPeriod = (int)Math.Max(1, Math.Min(int.MaxValue / 2, BandwidthShare.PublicBytesPerSecond(_options, mirrorActive: true) * Period.TotalSeconds));
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(ChunkBytes, perPeriod),
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = Period,
            // Refilled by the elapsed time at each tick of our own timer, so a late tick loses nothing.
            AutoReplenishment = false,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _refill = time.CreateTimer(static s => ((TokenBucketRateLimiter)s!).TryReplenish(), _bucket, Period, Period);
    }

    /// <summary>The gate of public requests: paced while a mirror transfer is active.</summary>
    public ISendFileGate Public { get; }

    /// <summary>The gate of verified mirror requests: counted, never paced.</summary>
    public ISendFileGate Mirror { get; }

    /// <summary>Body bytes sent to public clients and to verified mirrors since start.</summary>
    public long PublicBytes => Volatile.Read(ref _publicBytes);

    /// <inheritdoc cref="PublicBytes"/>
    public long MirrorBytes => Volatile.Read(ref _mirrorBytes);

    /// <summary>Time public downloads spent waiting for the bucket, summed over downloads, since start.</summary>
    public TimeSpan PublicWaited => TimeSpan.FromTicks(Volatile.Read(ref _waitedTicks));

    /// <summary>Verified mirror file requests being served now.</summary>
    public int MirrorTransfers => Volatile.Read(ref _mirrorTransfers);

    /// <summary>Whether public downloads are held to their share now: a mirror transfer is active or ended within <see cref="Linger"/>.</summary>
    public bool MirrorActive
    {
        get
        {
            if (Volatile.Read(ref _mirrorTransfers) > 0)
                return true;
            var last = Volatile.Read(ref _lastMirrorEnd);
            return last != 0 && _time.GetElapsedTime(last) < Linger;
        }
    }

    /// <summary>A verified mirror's file request was admitted; <see cref="MirrorEnded"/> when its response is complete.</summary>
    public void MirrorStarted() => Interlocked.Increment(ref _mirrorTransfers);

    /// <summary>A verified mirror's response is complete (sent, failed or abandoned).</summary>
    public void MirrorEnded()
    {
        // The end time first, so the count never reads 0 with an older end.
        Volatile.Write(ref _lastMirrorEnd, _time.GetTimestamp());
        Interlocked.Decrement(ref _mirrorTransfers);
    }

    private ValueTask<long> AcquirePublic(long wanted, CancellationToken cancellationToken)
    {
        var chunk = (int)Math.Min(wanted, ChunkBytes);
        if (_bucket is null || !MirrorActive)
            return new(chunk);
        RateLimitLease lease;
        try
        {
            lease = _bucket.AttemptAcquire(chunk);
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the host is closing the connections anyway, and a request still running logs no error.
            return new(chunk);
        }
        if (lease.IsAcquired)
        {
            lease.Dispose();
            return new(chunk);
        }
        lease.Dispose();
        return WaitAsync(chunk, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> WaitAsync(int chunk, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        try
        {
            // The limiter's queue limit counts tokens, not waiters: int.MaxValue holds 8,191 chunks, and a chunk past
            // them is refused at once. A refused chunk is never sent unpaced: it waits one refill and asks again, until
            // it is granted, the mirrors are done (then it may go at once) or the request is aborted.
            while (!await TryAcquireAsync(chunk, cancellationToken).ConfigureAwait(false))
            {
                await Task.Delay(Period, _time, cancellationToken).ConfigureAwait(false);
                if (!MirrorActive)
                    break;
            }
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the host is closing the connections anyway.
        }
        finally
        {
            Interlocked.Add(ref _waitedTicks, _time.GetElapsedTime(start).Ticks);
        }
        return chunk;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> TryAcquireAsync(int chunk, CancellationToken cancellationToken)
    {
        using var lease = await _bucket!.AcquireAsync(chunk, cancellationToken).ConfigureAwait(false);
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        _refill?.Dispose();
        _bucket?.Dispose();
    }

    private sealed class Gate(OriginPacer pacer, bool mirror) : ISendFileGate
    {
        public ValueTask<long> AcquireAsync(long wanted, CancellationToken cancellationToken) =>
            mirror ? new(wanted) : pacer.AcquirePublic(wanted, cancellationToken);

        public void Sent(int bytes) => Interlocked.Add(ref mirror ? ref pacer._mirrorBytes : ref pacer._publicBytes, bytes);
    }
}
