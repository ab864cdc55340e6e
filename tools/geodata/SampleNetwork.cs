using System.Net;

namespace Downloads.GeoData;

/// <summary>
/// One network of the generated sample geo databases: the public test networks MaxMind's own test
/// databases use, so that <c>curl -H 'X-Forwarded-For: 81.2.69.142'</c> plays a client in London.
/// </summary>
public sealed record SampleNetwork
{
    /// <summary>Short name, e.g. <c>london</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The network.</summary>
    public required IPNetwork Network { get; init; }

    /// <summary>An address inside <see cref="Network"/> to play a client with.</summary>
    public required IPAddress Address { get; init; }

    /// <summary>City name (English), or null for a country-level record.</summary>
    public string? City { get; init; }

    /// <summary>ISO 3166-1 alpha-2 country code.</summary>
    public required string Country { get; init; }

    /// <summary>Country name (English).</summary>
    public required string CountryName { get; init; }

    /// <summary>GeoIP2 continent code (EU, NA, AS, …).</summary>
    public required string Continent { get; init; }

    /// <summary>Latitude, degrees.</summary>
    public required double Latitude { get; init; }

    /// <summary>Longitude, degrees.</summary>
    public required double Longitude { get; init; }

    /// <summary>Accuracy radius, km.</summary>
    public ushort AccuracyRadius { get; init; } = 100;

    /// <summary>IANA time zone.</summary>
    public required string TimeZone { get; init; }

    /// <summary>Autonomous system number (distinct per sample network).</summary>
    public required uint Asn { get; init; }

    /// <summary>Autonomous system organisation.</summary>
    public required string AsnOrganization { get; init; }
}
