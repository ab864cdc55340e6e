namespace Downloads.Redirector.Geo;

/// <summary>Log event ids of the geo concern (4200–4299).</summary>
internal static class GeoEvents
{
    public const int Loaded = 4201;
    public const int LoadFailed = 4202;
    public const int NoDatabases = 4203;
    public const int UsingSamples = 4204;
}
