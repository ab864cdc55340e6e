namespace Downloads.Testing;

/// <summary>
/// The service users' Redis ACL rules exactly as Ansible ships them (ansible/roles/redis/files/acl/NAME.acl, the one
/// source), so tests give a real redis-server the same users production has.
/// </summary>
public static class ShippedAcl
{
    /// <summary>The rules of <paramref name="user"/> (<c>dl-origin</c>, <c>dl-redirector</c>) as ACL SETUSER arguments.</summary>
    public static string[] Rules(string user) =>
        File.ReadAllText(Path.Combine(Promtool.RepositoryRoot, "ansible", "roles", "redis", "files", "acl", user + ".acl"))
            .Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Creates or replaces <paramref name="user"/> with its shipped rules and <paramref name="password"/>.</summary>
    public static Task CreateAsync(StackExchange.Redis.IDatabaseAsync admin, string user, string password) =>
        admin.ExecuteAsync("ACL", ["SETUSER", user, "reset", "on", ">" + password, .. Rules(user)]);
}
