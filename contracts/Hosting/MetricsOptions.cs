namespace Downloads.Contracts.Hosting;

/// <summary>Settings of <c>/-/metrics</c> (section <c>Metrics</c>).</summary>
public sealed class MetricsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Metrics";

    /// <summary>
    /// Bearer token Prometheus must send (<c>authorization: credentials_file</c> in the scrape config); empty
    /// (the default): <c>/-/metrics</c> is open, for a network whose metrics port only the monitoring host reaches.
    /// </summary>
    public string ScrapeToken { get; set; } = "";
}
