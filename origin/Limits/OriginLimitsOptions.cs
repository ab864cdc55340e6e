using System.ComponentModel.DataAnnotations;

namespace Downloads.Origin.Limits;

/// <summary>
/// How much the origin serves at once, and how much of it only mirrors may use. Section <c>Limits</c>.
/// A request is a file download or HEAD; service endpoints under <c>/-/</c> (manifest, signature, health,
/// metrics) are not limited: they are small and are what mirrors and ops need most during a surge.
/// </summary>
public sealed class OriginLimitsOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Limits";

    /// <summary>File requests served at once, mirrors' included. 0 turns every limit off.</summary>
    [Range(0, 1_000_000)]
    public int MaxRequests { get; set; } = 512;

    /// <summary>
    /// Of <see cref="MaxRequests"/>, how many public clients can never take: kept for mirrors whose requests
    /// carry a valid signature, so a surge that reaches the origin cannot starve the sync that would end it.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ReservedForMirrors { get; set; } = 128;

    /// <summary>File requests one public client (an IPv4 address, or an IPv6 /64) may have open at once. 0 for no limit.</summary>
    [Range(0, 1_000_000)]
    public int PerClient { get; set; } = 8;

    /// <summary>Kestrel's connection cap (beyond it the socket is closed unanswered). 0 for none.</summary>
    [Range(0, 10_000_000)]
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// The origin's egress link, bits/s (e.g. 4000000000 for 4 Gbit/s; at most 400 Gbit/s). 0: unknown, and public downloads are never
    /// paced. Set it (a little under the real link) to keep <see cref="MirrorBandwidthShare"/> of it for mirrors;
    /// <see cref="MaxRequests"/> 0 turns it off with every other limit.
    /// </summary>
    [Range(0, 400_000_000_000)]
    public long LinkBitsPerSecond { get; set; }

    /// <summary>
    /// The share of <see cref="LinkBitsPerSecond"/> kept for mirrors while any verified mirror transfer is active:
    /// public downloads together are then paced to the rest. With no mirror transfer they may use the whole link.
    /// </summary>
    [Range(0.05, 0.95)]
    public double MirrorBandwidthShare { get; set; } = 0.5;

    /// <summary>Retry-After of a refused request, seconds.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 10;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxRequests > 0 && ReservedForMirrors >= MaxRequests)
            yield return new ValidationResult("Limits:ReservedForMirrors must be below Limits:MaxRequests", [nameof(ReservedForMirrors)]);
        if (LinkBitsPerSecond is > 0 and < BandwidthShare.MinLinkBitsPerSecond)
            yield return new ValidationResult($"Limits:LinkBitsPerSecond must be 0 (unknown) or at least {BandwidthShare.MinLinkBitsPerSecond} (1 Mbit/s)", [nameof(LinkBitsPerSecond)]);
    }
}
