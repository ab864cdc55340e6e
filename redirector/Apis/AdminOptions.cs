namespace Downloads.Redirector.Apis;

/// <summary>Admin API access. Section <c>Admin</c>.</summary>
public sealed class AdminOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Admin";

    /// <summary>Bearer token for <c>/-/api/…</c>; when empty every admin call is refused with 401.</summary>
    public string Token { get; set; } = "";
}
