using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror.Limits;

/// <summary>Serving limits. Section <c>Serving</c>.</summary>
public sealed class LimitsOptions
{
    /// <summary>Configuration section name (shared with the serving options).</summary>
    public const string Section = "Serving";

    /// <summary>Most concurrent client connections; a connection beyond it gets 503 with Retry-After. 0: no limit.</summary>
    [Range(0, 10_000_000)]
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Seconds sent in Retry-After with the 503.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 5;
}
