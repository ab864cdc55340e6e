using System.ComponentModel.DataAnnotations;

namespace Downloads.Redirector.Ops;

/// <summary>Dashboard and history settings. Section <c>Ops</c>.</summary>
public sealed class OpsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Ops";

    /// <summary>How often the dashboard's view is rebuilt from the snapshot and Redis (and how often the page polls), seconds.</summary>
    [Range(0.1, 300.0)]
    public double SampleSeconds { get; set; } = 2;

    /// <summary>Files and countries listed on the dashboard (the busiest first).</summary>
    [Range(1, 1000)]
    public int Top { get; set; } = 20;

    /// <summary>
    /// Surge expected at the next staged release per region (continent), Gbit/s, e.g. <c>EU:40,NA:25</c>: the dashboard's
    /// staging table gives each region a go/no-go against it. Empty: shares only.
    /// </summary>
    [RegularExpression(@"^([A-Z?]{2}[:=][0-9]+(\.[0-9]+)?(,[A-Z?]{2}[:=][0-9]+(\.[0-9]+)?)*)?$")]
    public string ExpectedSurgeGbps { get; set; } = "";

    /// <summary>Write the per-mirror bandwidth history (one redirector per minute, chosen by a Redis lease).</summary>
    public bool WriteHistory { get; set; } = true;
}
