namespace Downloads.Origin.Limits;

/// <summary>
/// The origin's bandwidth policy alone, shared by <see cref="OriginPacer"/> and the launch-day simulator's origin model
/// (bench/launchday/Model): while any verified mirror transfer is active, public downloads together get the link less
/// the mirrors' share; otherwise, or when the link is unknown, they are not held back at all. Mirrors are never paced.
/// </summary>
internal static class BandwidthShare
{
    /// <summary>The smallest link that may be configured (1 Mbit/s); below it a pacing chunk would take seconds.</summary>
    public const long MinLinkBitsPerSecond = 1_000_000;

    /// <summary>Whether <paramref name="options"/> turn pacing on at all (a known link, and limits on).</summary>
    public static bool Enabled(OriginLimitsOptions options) => options.LinkBitsPerSecond > 0 && options.MaxRequests > 0;

    /// <summary>
    /// Bytes/s all public downloads together may take: <see cref="double.PositiveInfinity"/> when pacing is off or no mirror
    /// transfer is active (work-conserving: the public may fill the link), else link × (1 − <see cref="OriginLimitsOptions.MirrorBandwidthShare"/>).
    /// </summary>
    public static double PublicBytesPerSecond(OriginLimitsOptions options, bool mirrorActive) =>
        Enabled(options) && mirrorActive ? options.LinkBitsPerSecond / 8.0 * (1 - options.MirrorBandwidthShare) : double.PositiveInfinity;
}
