using Downloads.Redirector.Geo;

namespace Downloads.LaunchDay.Model;

/// <summary>Where the models' clients are: one point per country of <see cref="Scenario.CountryWeights"/>, drawn by its weight.</summary>
internal static class Places
{
    private static readonly (string Country, string Continent, double Lat, double Lon)[] Points =
    [
        ("US", "NA", 39.8, -98.6), ("GB", "EU", 52.5, -1.5), ("DE", "EU", 51.2, 10.4), ("IN", "AS", 21.0, 78.0),
        ("FR", "EU", 46.6, 2.4), ("JP", "AS", 36.2, 138.3), ("BR", "SA", -14.2, -51.9), ("CA", "NA", 45.4, -75.7),
        ("AU", "OC", -25.3, 133.8), ("NL", "EU", 52.1, 5.3), ("ES", "EU", 40.4, -3.7), ("IT", "EU", 41.9, 12.6),
        ("PL", "EU", 52.1, 19.4), ("CN", "AS", 35.9, 104.2), ("SE", "EU", 60.1, 18.6), ("KR", "AS", 36.5, 127.9),
        ("MX", "NA", 23.6, -102.6), ("ID", "AS", -0.8, 113.9), ("ZA", "AF", -30.6, 22.9), ("NG", "AF", 9.1, 8.7),
    ];

    private static readonly double[] Cumulative = Sums();

    private static double[] Sums()
    {
        var sums = new double[Points.Length];
        double sum = 0;
        for (var i = 0; i < Points.Length; i++)
            sums[i] = sum += Scenario.CountryWeights[Points[i].Country];
        return sums;
    }

    public static ClientLocation Next(Random random)
    {
        var i = Array.BinarySearch(Cumulative, random.NextDouble() * Cumulative[^1]);
        var p = Points[i < 0 ? ~i : i];
        return new ClientLocation(p.Lat, p.Lon, p.Country, p.Continent, 0);
    }
}
