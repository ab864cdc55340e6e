using System.Net;
using Downloads.Redirector.Geo;

namespace Downloads.Redirector.Tests.Network;

/// <summary>Known test addresses → locations (stands in for the MMDB-backed locator where the geo database is not the subject).</summary>
internal sealed class FixedGeoLocator : IGeoLocator
{
    public static readonly IPAddress LondonIp = IPAddress.Parse("81.2.69.142");
    public static readonly IPAddress TokyoIp = IPAddress.Parse("202.196.224.1");
    public static readonly IPAddress ParisIp = IPAddress.Parse("2.2.2.2");

    public ClientLocation Locate(IPAddress address) =>
        address.Equals(LondonIp) ? new ClientLocation(51.5142, -0.0931, "GB", "EU", 0)
        : address.Equals(TokyoIp) ? new ClientLocation(35.685, 139.7514, "JP", "AS", 0)
        : address.Equals(ParisIp) ? new ClientLocation(48.8566, 2.3522, "FR", "EU", 0)
        : ClientLocation.Unknown;
}
