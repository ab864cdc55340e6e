using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror.Staging;

/// <summary>How the mirror prefetches staged (encrypted, not yet public) files. Section <c>Staging</c>.</summary>
public sealed class StagingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Staging";

    /// <summary>How often the upstream's signed staging list is read.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Free bytes the data folder must keep after staging (for the live tree's own syncs); 0 for none.</summary>
    [Range(0, long.MaxValue)]
    public long MinFreeBytes { get; set; } = 1L * 1024 * 1024 * 1024;

    /// <summary>
    /// How long a request for a just-released file waits for this mirror to decrypt and verify it from its staged
    /// ciphertext (redirectors send clients here from the release on); not ready by then: 503 with Retry-After.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ReleaseWait { get; set; } = TimeSpan.FromSeconds(30);
}
