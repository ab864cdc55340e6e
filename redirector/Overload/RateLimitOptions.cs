using System.ComponentModel.DataAnnotations;

namespace Downloads.Redirector.Overload;

/// <summary>Per-client request rate limit of the redirector. Section <c>RateLimit</c>.</summary>
public sealed class RateLimitOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "RateLimit";

    /// <summary>Whether requests are limited per client at all (off: the middleware is not even installed).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Sustained requests per second one client address (IPv4) or /64 network (IPv6) may make.</summary>
    [Range(0.001, 1_000_000.0)]
    public double PermitsPerSecond { get; set; } = 20;

    /// <summary>Requests a client may make at once above the sustained rate (a download manager opening several mirrors, a NAT).</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 200;

    /// <summary>
    /// Size of the fixed table clients are hashed into (a power of two). Memory is bounded by it whatever
    /// the number of addresses (8 bytes a slot); clients sharing a slot share one budget.
    /// </summary>
    [Range(1, 1 << 26)]
    public int Slots { get; set; } = 1 << 16;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if ((Slots & (Slots - 1)) != 0)
            yield return new ValidationResult($"RateLimit:Slots must be a power of two, not {Slots}", [nameof(Slots)]);
    }
}
