using System.ComponentModel.DataAnnotations;

namespace Downloads.Mirror.Enrollment;

/// <summary>One-time enrollment of a new mirror. Section <c>Enrollment</c>.</summary>
public sealed class EnrollmentOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Enrollment";

    /// <summary>The one-time token ops issued (<c>POST /-/api/tokens</c>). Used only while no credentials are saved.</summary>
    public string? Token { get; set; }

    /// <summary>Base URL of a redirector (e.g. <c>https://downloads.example.org</c>); the mirror posts to <c>/-/api/enroll</c> there.</summary>
    [Url]
    public string? Redirector { get; set; }

    /// <summary>Time allowed for one enrollment attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts before start-up fails (the redirector may be restarting).</summary>
    [Range(1, 20)]
    public int Attempts { get; set; } = 3;
}
