using System.Net;

namespace Downloads.Redirector.Geo;

/// <summary>Where a client is, as far as the geo databases know. Coordinates are NaN when unknown.</summary>
public readonly record struct ClientLocation(double Latitude, double Longitude, string Country, string Continent, long Asn)
{
    /// <summary>Nothing known.</summary>
    public static ClientLocation Unknown => new(double.NaN, double.NaN, "", "", 0);

    /// <summary>Whether coordinates are known.</summary>
    public bool HasCoordinates => !double.IsNaN(Latitude) && !double.IsNaN(Longitude);
}

/// <summary>Maps a client address to a <see cref="ClientLocation"/>. Must not do I/O or take locks: it runs on the redirect path.</summary>
public interface IGeoLocator
{
    /// <summary>Locates <paramref name="address"/>; <see cref="ClientLocation.Unknown"/> when not in the databases.</summary>
    ClientLocation Locate(IPAddress address);
}
