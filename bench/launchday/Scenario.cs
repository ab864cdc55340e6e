namespace Downloads.LaunchDay;

/// <summary>The launch-day scenario: mirrors, where clients are, and the surge over time.</summary>
internal static class Scenario
{
    /// <summary>Normal request rate (redirects/s); the surge ramps to <see cref="SurgeFactor"/> times this.</summary>
    public const double NormalRate = 200;
    public const double SurgeFactor = 10;
    public const double RampStart = 10;   // s: normal until here
    public const double RampEnd = 40;     // s: 10x from here
    public const double KillAt = 80;      // s: a mirror dies at the peak (transfers have reached their steady state)
    public const double Duration = 120;   // s
    public const string Victim = "de-fra";

    /// <summary>
    /// Transfers are the real image sizes divided by this, at real client speeds, so a run turns its
    /// transfers over in a minute, not hours — yet, as real downloads (minutes) outlast a mirror's 5 s
    /// report interval, a simulated one (16 s on average, 2–170 s) outlasts the simulator's 1 s reports.
    /// Shrinking them further (÷400, the first version) made transfers end before the mirror had reported
    /// them, which no real download does and which the redirector's estimate of its own redirects counts
    /// as still running (docs/reliability.md).
    /// </summary>
    public const double SizeScale = 40;

    /// <summary>
    /// Each simulated mirror stands for a site of this many hosts of its nominal size, so that the demand
    /// at 10x (~850 Gbit/s with <see cref="SizeScale"/>) is ~60% of the network's capacity (1.42 Tbit/s).
    /// </summary>
    public const double HostsPerSite = 10;

    public static double RateAt(double t) =>
        t < RampStart ? NormalRate
        : t < RampEnd ? NormalRate * (1 + ((SurgeFactor - 1) * (t - RampStart) / (RampEnd - RampStart)))
        : NormalRate * SurgeFactor;

    /// <summary>Donated hosts of very different sizes (Gbit/s per host; a site is <see cref="HostsPerSite"/> of them), at real places.</summary>
    public static SimMirror[] Mirrors() =>
    [
        new("uk-lon", "GB", 51.5, -0.12, 20), new("de-fra", "DE", 50.1, 8.68, 20), new("fr-par", "FR", 48.86, 2.35, 10),
        new("nl-ams", "NL", 52.37, 4.9, 10), new("se-sto", "SE", 59.33, 18.07, 5), new("es-mad", "ES", 40.42, -3.7, 5),
        new("pl-waw", "PL", 52.23, 21.01, 3), new("us-east", "US", 38.9, -77.0, 20), new("us-west", "US", 37.4, -122.1, 15),
        new("ca-tor", "CA", 43.65, -79.38, 5), new("br-sao", "BR", -23.55, -46.63, 5), new("jp-tyo", "JP", 35.68, 139.69, 10),
        new("in-bom", "IN", 19.08, 72.88, 5), new("au-syd", "AU", -33.87, 151.21, 5), new("za-jnb", "ZA", -26.2, 28.05, 2),
        new("kr-seo", "KR", 37.57, 126.98, 5),
    ];

    /// <summary>Share of downloads by country (rough, Europe- and US-heavy like a hobby-computer launch); others get a small share each.</summary>
    public static readonly Dictionary<string, double> CountryWeights = new()
    {
        ["US"] = 22, ["GB"] = 12, ["DE"] = 10, ["IN"] = 7, ["FR"] = 5, ["JP"] = 4, ["BR"] = 4, ["CA"] = 3, ["AU"] = 3,
        ["NL"] = 3, ["ES"] = 2.5, ["IT"] = 2.5, ["PL"] = 2, ["CN"] = 2, ["SE"] = 1.5, ["KR"] = 1.5, ["MX"] = 1.5, ["ID"] = 1.5,
        ["ZA"] = 1, ["NG"] = 1,
    };

    public const double OtherCountryWeight = 0.5;

    /// <summary>Image sizes (bytes) of the manifest's files, like NOOBS / Raspberry Pi OS / RACHEL images.</summary>
    public static readonly long[] FileSizes =
        [1_200_000_000, 2_900_000_000, 850_000_000, 4_100_000_000, 470_000_000, 2_300_000_000, 1_700_000_000, 3_400_000_000];

    /// <summary>A client's download speed, bits/s: log-uniform 8–200 Mbit/s.</summary>
    public static double ClientSpeed(Random random) => 8e6 * Math.Pow(25, random.NextDouble());
}
