namespace Downloads.Redirector.Apis;

/// <summary>Admin API access. Section <c>Admin</c>.</summary>
public sealed class AdminOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Admin";

    /// <summary>Bearer token for <c>/-/api/…</c>; when empty every admin call is refused with 401.</summary>
    public string Token { get; set; } = "";

    /// <summary>
    /// Where the admin API and the <c>/-/ops</c> dashboard listen, e.g. <c>http://127.0.0.1:8180</c> (several
    /// separated by <c>;</c>, as <c>--urls</c>). When set they are served on these listeners only, and the public
    /// ones (<c>--urls</c>) answer 404 for them; when empty (the default) everything shares <c>--urls</c>.
    /// </summary>
    public string Urls { get; set; } = "";
}
