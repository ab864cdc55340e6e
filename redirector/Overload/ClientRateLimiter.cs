using System.Net;
using System.Threading.RateLimiting;
using Downloads.Contracts.Hosting;
using Downloads.Redirector.Clients;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Overload;

/// <summary>
/// Per-client limit, applied to every request by <see cref="RateLimitMiddleware"/>, keyed by the address
/// <see cref="ClientAddressResolver"/> resolves (so a trusted proxy's clients are limited one by one,
/// not as one proxy) — an IPv4 address or an IPv6 /64, since one host gets a whole /64.
/// <para>
/// Why not <c>PartitionedRateLimiter.Create</c>: it keeps one limiter object per key in a dictionary
/// swept every 100 ms, so a flood of distinct (or spoofed IPv6) addresses grows memory and sweep time
/// without bound — the cliff this is meant to prevent. Here clients hash into a fixed table of
/// <see cref="RateLimitOptions.Slots"/> longs, each the "theoretical arrival time" of the generic cell
/// rate algorithm (a token bucket in one number): one compare-and-swap a request, no lock, no
/// allocation, no sweep. Two clients that share a slot share one budget; the hash is seeded per
/// process so nobody can aim for a victim's slot.
/// </para>
/// </summary>
internal sealed class ClientRateLimiter : PartitionedRateLimiter<HttpContext>
{
    private static readonly PathString HealthPath = ServiceDefaults.HealthPath;
    private static readonly PathString MetricsPath = ServiceDefaults.MetricsPath;

    private readonly ClientAddressResolver _clients;
    private readonly TimeProvider _time;
    private readonly long[] _slots;
    private readonly int _mask;
    private readonly long _interval;
    private readonly long _tolerance;
    private long _rejected;

    public ClientRateLimiter(ClientAddressResolver clients, TimeProvider time, IOptions<RateLimitOptions> options)
    {
        var o = options.Value;
        _clients = clients;
        _time = time;
        _slots = new long[o.Slots];
        _mask = o.Slots - 1;
        _interval = Math.Max(1, (long)(time.TimestampFrequency / o.PermitsPerSecond));
        _tolerance = _interval * (o.Burst - 1);
    }

    /// <summary>Requests refused since start.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Whether the request is never limited: liveness probes and metric scrapes come from one address by design.</summary>
    public static bool IsExempt(HttpContext context)
    {
        var path = context.Request.Path;
        return path.StartsWithSegments(HealthPath, StringComparison.Ordinal) || path.StartsWithSegments(MetricsPath, StringComparison.Ordinal);
    }

    /// <summary>Slot of an address: its <see cref="AddressKey"/> (IPv4 whole, IPv6 by its /64), as the origin and mirrors count clients.</summary>
    public int SlotOf(IPAddress address) =>
        AddressKey.TryGet(address, out var key) ? HashCode.Combine(key) & _mask : 0;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        if (IsExempt(resource))
            return Lease.Granted;
        var address = _clients.Resolve(resource);
        if (address is null)
            return Lease.Granted; // no socket address (in-memory servers): nothing to key on
        ref var slot = ref _slots[SlotOf(address)];
        var now = _time.GetTimestamp();
        var cost = _interval * Math.Max(1, permitCount);
        while (true)
        {
            var tat = Volatile.Read(ref slot);
            var start = tat > now ? tat : now;
            var over = start + cost - _interval - now - _tolerance;
            if (over > 0)
            {
                Interlocked.Increment(ref _rejected);
                return new Lease(TimeSpan.FromSeconds((double)over / _time.TimestampFrequency));
            }
            if (Interlocked.CompareExchange(ref slot, start + cost, tat) == tat)
                return Lease.Granted;
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount)); // no queue: waiting would only hold the connection longer

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(null);

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } r && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = r;
                return true;
            }
            metadata = null;
            return false;
        }
    }
}
