using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Sync;

/// <summary>
/// One token bucket (tokens = bytes) shared by every transfer of the mirror, so the cap holds for
/// the sum of parallel downloads. Unlimited when the cap is 0.
/// </summary>
public sealed class BandwidthLimiter : IDisposable
{
    /// <summary>Largest slice acquired at once; reads are cut to this size.</summary>
    public const int SliceBytes = 64 * 1024;

    private readonly TokenBucketRateLimiter? _bucket;

    /// <summary>Creates the limiter from options.</summary>
    public BandwidthLimiter(IOptions<SyncOptions> options)
    {
        var rate = options.Value.BandwidthBytesPerSecond;
        if (rate <= 0)
            return;
        var perPeriod = (int)Math.Clamp(rate / 20, 1, int.MaxValue / 2);
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(50),
            TokensPerPeriod = perPeriod,
            TokenLimit = Math.Max(SliceBytes, perPeriod),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    /// <summary>Whether a cap is in force.</summary>
    public bool IsLimited => _bucket is not null;

    /// <summary>Waits until <paramref name="bytes"/> (at most <see cref="SliceBytes"/>) may be read.</summary>
    public async ValueTask AcquireAsync(int bytes, CancellationToken cancellationToken)
    {
        if (_bucket is null || bytes <= 0)
            return;
        using var lease = await _bucket.AcquireAsync(bytes, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => _bucket?.Dispose();
}
