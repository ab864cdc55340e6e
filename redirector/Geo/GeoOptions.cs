using System.ComponentModel.DataAnnotations;

namespace Downloads.Redirector.Geo;

/// <summary>Where the geo databases are. Section <c>Geo</c>. Without them every client is of unknown location.</summary>
public sealed class GeoOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Geo";

    /// <summary>Path of a GeoIP2/GeoLite2 City (or Country) database; unset runs without locations.</summary>
    public string? CityDatabase { get; set; }

    /// <summary>Path of a GeoLite2/GeoIP2 ASN database; unset runs without same-network preference.</summary>
    public string? AsnDatabase { get; set; }

    /// <summary>
    /// Generate the sample databases (a few public test networks: 81.2.69.142 is London) and use them.
    /// For <c>./run.sh</c> and tests only; cannot be combined with the database paths.
    /// </summary>
    public bool UseSampleDatabases { get; set; }

    /// <summary>How often the files are checked for a new version (swapped in atomically when they change).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromMinutes(1);
}
