using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror.Reporting;

/// <summary>How often the mirror reports to Redis. Section <c>Reporting</c>.</summary>
public sealed class ReportingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Reporting";

    /// <summary>Time between two reports (one Redis round trip each).</summary>
    // At most 2 minutes: redirectors ignore a heartbeat older than Keyspace.MirrorHeartbeatMaxAge (10 minutes).
    [Range(typeof(TimeSpan), "00:00:00.050", "00:02:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the heartbeat outlives a report; redirectors drop the mirror when it expires.
    /// Default (zero): three intervals, so one lost report does not drop a mirror.
    /// </summary>
    public TimeSpan HeartbeatTtl { get; set; }

    /// <summary>The heartbeat TTL in effect.</summary>
    public TimeSpan EffectiveHeartbeatTtl => HeartbeatTtl > TimeSpan.Zero ? HeartbeatTtl : Interval * 3;
}
