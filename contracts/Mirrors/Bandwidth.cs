namespace Downloads.Contracts.Mirrors;

/// <summary>
/// The one conversion between Mbit/s, the unit people give capacities in (<see cref="MirrorRecord.CapacityMbps"/>,
/// options), and bytes/s, the unit rates are measured and reported in (<see cref="MirrorRecord.RateBps"/>).
/// </summary>
public static class Bandwidth
{
    /// <summary>Bytes/s in one Mbit/s: 10⁶ bits ÷ 8.</summary>
    public const double BytesPerSecondPerMbps = 125_000;

    /// <summary>Mbit/s to bytes/s.</summary>
    public static double BytesPerSecond(double mbps) => mbps * BytesPerSecondPerMbps;

    /// <summary>Bytes/s to Mbit/s.</summary>
    public static double Mbps(double bytesPerSecond) => bytesPerSecond / BytesPerSecondPerMbps;
}
