namespace Downloads.GeoData;

/// <summary>
/// The countries generated geo databases spread their places over: a rough centroid, how far places
/// scatter around it (degrees of latitude), and a weight for its share of the address space.
/// </summary>
internal static class SyntheticCountries
{
    /// <summary>One country of the generated data.</summary>
    public readonly record struct Country(string Code, string Continent, double Latitude, double Longitude, double Spread, int Weight);

    public static readonly Country[] All =
    [
        new("GB", "EU", 53.0, -1.5, 5, 5), new("DE", "EU", 51.0, 10.0, 6, 6), new("FR", "EU", 46.5, 2.5, 7, 5),
        new("ES", "EU", 40.0, -3.7, 6, 3), new("IT", "EU", 42.8, 12.5, 6, 3), new("SE", "EU", 60.1, 18.6, 8, 2),
        new("PL", "EU", 52.0, 19.4, 5, 2), new("NL", "EU", 52.2, 5.3, 2, 3), new("FI", "EU", 64.0, 26.0, 6, 1),
        new("GR", "EU", 39.0, 22.0, 4, 1), new("RO", "EU", 45.9, 24.9, 4, 1), new("IE", "EU", 53.4, -8.2, 3, 1),
        new("US", "NA", 39.8, -98.6, 20, 30), new("CA", "NA", 50.0, -100.0, 12, 3), new("MX", "NA", 23.6, -102.6, 10, 2),
        new("CU", "NA", 21.5, -79.5, 2, 1), new("BR", "SA", -14.2, -51.9, 18, 5), new("AR", "SA", -38.4, -63.6, 12, 2),
        new("CL", "SA", -35.7, -71.5, 10, 1), new("CO", "SA", 4.6, -74.3, 6, 1), new("JP", "AS", 36.2, 138.3, 6, 8),
        new("CN", "AS", 33.0, 110.0, 16, 25), new("IN", "AS", 22.0, 79.0, 14, 6), new("KR", "AS", 36.5, 127.8, 3, 5),
        new("ID", "AS", -2.5, 113.9, 10, 2), new("TH", "AS", 15.9, 100.99, 6, 1), new("VN", "AS", 14.1, 108.3, 8, 2),
        new("PH", "AS", 12.9, 121.8, 6, 1), new("AU", "OC", -27.0, 140.0, 16, 3), new("NZ", "OC", -40.9, 174.9, 5, 1),
        new("FJ", "OC", -17.7, 178.1, 1, 1), new("ZA", "AF", -30.6, 22.9, 8, 1), new("NG", "AF", 9.1, 8.7, 6, 1),
        new("KE", "AF", -0.02, 37.9, 4, 1), new("EG", "AF", 26.8, 30.8, 4, 1), new("MA", "AF", 31.8, -7.1, 4, 1),
        new("ET", "AF", 9.1, 40.5, 4, 1), new("GH", "AF", 7.9, -1.0, 3, 1),
    ];

    public static readonly int TotalWeight = All.Sum(c => c.Weight);
}
