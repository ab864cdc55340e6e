using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror;

/// <summary>Who this mirror is and where it keeps its data. Section <c>Mirror</c>.</summary>
public sealed class MirrorOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Mirror";

    /// <summary>Stable id (lower-case letters, digits, '-'); names its Redis keys.</summary>
    [Required, RegularExpression("^[a-z0-9][a-z0-9-]{0,47}$")]
    public string Id { get; set; } = "";

    /// <summary>Display name; defaults to the id.</summary>
    public string? Name { get; set; }

    /// <summary>Folder holding the verified trees, staging area and sync state.</summary>
    [Required]
    public string DataDir { get; set; } = "";

    /// <summary>Base URL of the upstream (origin or tier-1 mirror) to sync from.</summary>
    [Required, Url]
    public string Upstream { get; set; } = "";

    /// <summary>Base64 Ed25519 public key the manifest signature must verify against.</summary>
    [Required]
    public string PublicKey { get; set; } = "";

    /// <summary>
    /// The origin's next signing key, pinned ahead of a key rotation (docs/ops.md): a manifest verifies against
    /// <see cref="PublicKey"/> or this. Empty when no rotation is under way.
    /// </summary>
    [Downloads.Contracts.Manifests.OptionalPublicKey]
    public string NextPublicKey { get; set; } = "";

    /// <summary>The pinned keys: <see cref="PublicKey"/> and <see cref="NextPublicKey"/>.</summary>
    public Downloads.Contracts.Manifests.PinnedKeys Keys => new(PublicKey, NextPublicKey);

    /// <summary>Public http base URL clients are redirected to (e.g. http://mirror.example.org).</summary>
    public string? HttpUrl { get; set; }

    /// <summary>Public https base URL, if the host serves https.</summary>
    public string? HttpsUrl { get; set; }

    /// <summary>Sets carried, comma-separated; empty carries every set.</summary>
    public string Sets { get; set; } = "";

    /// <summary>Latitude in degrees, if the host states it (otherwise from the geo database).</summary>
    public double? Latitude { get; set; }

    /// <summary>Longitude in degrees.</summary>
    public double? Longitude { get; set; }

    /// <summary>ISO country code.</summary>
    public string? Country { get; set; }

    /// <summary>Continent code (EU, NA, AS, …).</summary>
    public string? Continent { get; set; }

    /// <summary>Autonomous system number of the host's network, if known.</summary>
    public long Asn { get; set; }

    /// <summary>Uplink capacity the host donates, Mbit/s.</summary>
    [Range(0, 10_000_000)]
    public double CapacityMbps { get; set; } = 100;

    /// <summary>Monthly transfer quota, TB (0: none).</summary>
    [Range(0, 1_000_000)]
    public double QuotaTB { get; set; }

    /// <summary>The sets as a list.</summary>
    public IReadOnlyList<string> SetList => Sets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
