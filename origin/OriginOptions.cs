using System.ComponentModel.DataAnnotations;
using Downloads.Contracts.Manifests;

namespace Downloads.Origin;

/// <summary>Where the canonical tree lives and how it is published. Section <c>Origin</c>.</summary>
public sealed class OriginOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Origin";

    /// <summary>The published file tree; its top-level folders are the sets.</summary>
    [Required]
    public string Root { get; set; } = "";

    /// <summary>Folder holding the published manifests, their signatures and the hash cache.</summary>
    [Required]
    public string StateDir { get; set; } = "";

    /// <summary>File holding the base64 Ed25519 private seed (written by <c>origin keygen</c>).</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>The base64 Ed25519 private seed itself, when not in a file.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>Chunk size of newly published manifests, bytes.</summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public int ChunkSize { get; set; } = ManifestDefaults.ChunkSize;

    /// <summary>How often the running origin checks the state folder for a manifest published by the CLI.</summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a published manifest may be trusted as current: it is signed with <c>expires</c> = published + this, and the
    /// running origin re-signs the same files as the next serial once less than half of it is left. 10 minutes to a year.
    /// </summary>
    [Range(typeof(TimeSpan), "00:10:00", "365.00:00:00")]
    public TimeSpan ManifestLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How many old serials to keep in the state folder.</summary>
    [Range(1, 1000)]
    public int KeepSerials { get; set; } = 5;

    /// <summary>The private seed from <see cref="PrivateKey"/> or <see cref="PrivateKeyFile"/>; throws naming the settings when neither is set.</summary>
    public string LoadPrivateKey()
    {
        if (!string.IsNullOrWhiteSpace(PrivateKey))
            return PrivateKey.Trim();
        if (!string.IsNullOrWhiteSpace(PrivateKeyFile))
            return File.ReadAllText(PrivateKeyFile).Trim();
        throw new InvalidOperationException("No signing key: set Origin:PrivateKeyFile (from `origin keygen --out FILE`) or Origin:PrivateKey.");
    }
}
