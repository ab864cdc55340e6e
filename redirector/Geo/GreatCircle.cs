namespace Downloads.Redirector.Geo;

/// <summary>Great-circle distance on a spherical Earth (haversine), accurate to ~0.5% — plenty for ranking mirrors.</summary>
internal static class GreatCircle
{
    /// <summary>Mean Earth radius, km.</summary>
    public const double EarthRadiusKm = 6371.0088;

    /// <summary>Distance in km between two points given in degrees; NaN if any coordinate is NaN.</summary>
    public static double DistanceKm(double lat1, double lon1, double lat2, double lon2)
    {
        const double rad = Math.PI / 180;
        var dLat = (lat2 - lat1) * rad;
        var dLon = (lon2 - lon1) * rad;
        var a = Math.Sin(dLat / 2) * Math.Sin(dLat / 2)
            + Math.Cos(lat1 * rad) * Math.Cos(lat2 * rad) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * EarthRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}
