using System.ComponentModel.DataAnnotations;

namespace Downloads.Redirector.Health;

/// <summary>Active health checks of mirrors. Section <c>Health</c>.</summary>
public sealed class HealthOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Health";

    /// <summary>Run the checks (every redirector may; a lease per mirror and round keeps it to one probe).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Length of a round; rounds are numbered from the wall clock so all redirectors agree.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one mirror's probe (HEAD plus one chunk).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Consecutive good rounds before an excluded mirror is readmitted.</summary>
    [Range(1, 100)]
    public int GoodRoundsToReadmit { get; set; } = 3;

    /// <summary>
    /// Mark a serving mirror whose heartbeat expired as failed, so on its return it needs
    /// <see cref="GoodRoundsToReadmit"/> good probes before traffic (users of other mirror networks asked for this).
    /// </summary>
    public bool RecheckAfterDowntime { get; set; } = true;

    /// <summary>
    /// Addresses and CIDR networks, comma-separated, that probes may reach although they are not public
    /// (loopback, private, link-local, …; see ProbeTargetPolicy). Empty by default: a mirror URL that resolves
    /// to such an address is not fetched. Local networks and tests set e.g. <c>127.0.0.0/8,::1</c>.
    /// </summary>
    public string AllowedNetworks { get; set; } = "";

    /// <summary>Mirrors probed at the same time by one redirector.</summary>
    [Range(1, 256)]
    public int Parallelism { get; set; } = 16;
}
