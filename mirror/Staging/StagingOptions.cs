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
}
