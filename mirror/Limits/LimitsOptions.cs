using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror.Limits;

/// <summary>Serving limits. Section <c>Serving</c>. Why each default is what it is: docs/membership.md, "Connection limit".</summary>
public sealed class LimitsOptions
{
    /// <summary>Configuration section name (shared with the serving options).</summary>
    public const string Section = "Serving";

    /// <summary>Most concurrent client connections; a connection beyond it gets 503 with Retry-After. 0: no limit.</summary>
    [Range(0, 10_000_000)]
    public int MaxConnections { get; set; } = 1000;

    /// <summary>
    /// Most concurrent connections from one client address (IPv4: the address; IPv6: its /64, what one
    /// subscriber usually gets); a connection beyond it gets 503 with Retry-After. 0: no limit. Room for two
    /// download managers at 16 connections each, or a small office behind one NAT address.
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxConnectionsPerAddress { get; set; } = 32;

    /// <summary>Seconds sent in Retry-After with the 503.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>
    /// Slowest average rate, bytes/s, at which a client must take a response (and send a request body) once
    /// <see cref="MinDataRateGraceSeconds"/> have passed; a slower connection is closed, freeing its slot.
    /// 4096 B/s (32 kbit/s, a 2G phone or a modem) is 17 times Kestrel's default of 240. 0: Kestrel's default.
    /// </summary>
    [Range(0, 1 << 30)]
    public int MinDataRateBytesPerSecond { get; set; } = 4096;

    /// <summary>Seconds before <see cref="MinDataRateBytesPerSecond"/> is enforced on a write: a stall at the start (TCP slow start, a radio waking up) is forgiven.</summary>
    [Range(2, 3600)]
    public double MinDataRateGraceSeconds { get; set; } = 15;

    /// <summary>Seconds a client has to send a request's headers once it has begun (slow-loris defence).</summary>
    [Range(1, 3600)]
    public double RequestHeadersTimeoutSeconds { get; set; } = 15;

    /// <summary>Seconds an idle connection (a new one before its first request, or between requests) is kept open; Kestrel's default is 130.</summary>
    [Range(1, 3600)]
    public double KeepAliveTimeoutSeconds { get; set; } = 30;
}
