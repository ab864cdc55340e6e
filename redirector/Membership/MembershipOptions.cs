using System.ComponentModel.DataAnnotations;

namespace Downloads.Redirector.Membership;

/// <summary>Enrollment settings. Section <c>Membership</c>.</summary>
public sealed class MembershipOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Membership";

    /// <summary>How long an unused enrollment token stays valid.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromDays(2);

    /// <summary>
    /// Give each mirror its own Redis ACL user, created by ops' approval (needs Redis 7 or later). False for a store
    /// without key permissions (Garnet, ./run.sh's embedded store): mirrors then share the configured user.
    /// </summary>
    public bool PerMirrorUsers { get; set; } = true;
}
