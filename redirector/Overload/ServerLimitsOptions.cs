using System.ComponentModel.DataAnnotations;

namespace Downloads.Redirector.Overload;

/// <summary>
/// Kestrel's limits for the redirector, in one place. Section <c>Limits</c>. A redirect request is one
/// short line and a few headers; anything far larger is hostile or broken and is refused by Kestrel
/// (431, 414, 413) before it costs the application anything.
/// </summary>
public sealed class ServerLimitsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Limits";

    /// <summary>Total size of the request headers, bytes (Kestrel answers 431 above it).</summary>
    [Range(1024, 1 << 20)]
    public int MaxRequestHeadersTotalSize { get; set; } = 16 * 1024;

    /// <summary>Number of request headers (431 above it).</summary>
    [Range(8, 1000)]
    public int MaxRequestHeaderCount { get; set; } = 64;

    /// <summary>Request line (method, URL, version), bytes (414 above it). Covers the URL length.</summary>
    [Range(256, 1 << 20)]
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>Request body, bytes (413 above it): redirects have none; the admin API takes small JSON documents.</summary>
    [Range(0, 1 << 24)]
    public long MaxRequestBodySize { get; set; } = 64 * 1024;

    /// <summary>Open connections; Kestrel closes any connection beyond it at once, so a connection flood cannot exhaust memory.</summary>
    [Range(1, 10_000_000)]
    public long MaxConcurrentConnections { get; set; } = 50_000;

    /// <summary>Upgraded (WebSocket) connections: the redirector has no use for them.</summary>
    [Range(0, 1_000_000)]
    public long MaxConcurrentUpgradedConnections { get; set; }

    /// <summary>Time a client has to send its request headers, seconds (slow-loris defence).</summary>
    [Range(1, 600)]
    public double RequestHeadersTimeoutSeconds { get; set; } = 10;

    /// <summary>Idle keep-alive connections are closed after this many seconds.</summary>
    [Range(1, 3600)]
    public double KeepAliveTimeoutSeconds { get; set; } = 60;
}
