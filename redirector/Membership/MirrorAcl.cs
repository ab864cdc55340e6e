using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using StackExchange.Redis;

namespace Downloads.Redirector.Membership;

/// <summary>
/// A mirror's own Redis ACL user (Redis 7 key permissions), created by ops' approval from the SHA-256 of the
/// password the mirror chose. It may read and write exactly its own info, state and heartbeat and the usage
/// counters of three billing periods (<see cref="Keyspace.MirrorWritableKeys(string, DateTimeOffset, int)"/>; no key pattern, so it can create no
/// other key), read its ops-owned config and what redirectors write about it (health verdict, bandwidth
/// history: its donor's <c>status</c> command), and subscribe to the announcement channel; nothing else: not
/// another mirror's keys, not the mirror table, no write to its config or health, no PUBLISH, no
/// KEYS/SCAN/FLUSH, no CLIENT KILL. <see cref="Rules(string, DateTimeOffset, int)"/> is the one source of these rules (the tests use it).
/// Managing users needs an admin Redis user (the ops path, docs/keyspace.md); a redirector's user may not.
/// </summary>
internal static class MirrorAcl
{
    // What a mirror does: its report (MULTI, HSET, SETEX/PSETEX, INCRBY or INCR, EXPIRE, EXEC), registration (HSET,
    // HGET of its config), SUBSCRIBE to announcements, the donor's status read (HGETALL, GET, LRANGE), and what
    // StackExchange.Redis sends when it connects (HELLO/AUTH, CLIENT SETNAME/SETINFO/ID, PING, ECHO, INFO, GET of
    // its tie-breaker key, which is refused harmlessly). Explicit commands rather than categories: @connection
    // includes CLIENT KILL, @write includes APPEND, SETRANGE, RENAME and the like.
    private static readonly string[] Commands =
    [
        "-@all",
        "+auth", "+hello", "+ping", "+echo", "+quit", "+select", "+info",
        "+client|setname", "+client|getname", "+client|id",
        "+multi", "+exec", "+discard",
        "+hset", "+hmset", "+hget", "+hgetall", "+lrange",
        "+get", "+set", "+setex", "+psetex", "+incr", "+incrby", "+expire",
        "+subscribe", "+unsubscribe",
    ];

    // Commands newer than Redis 7.0 (CLIENT SETINFO is 7.2): granted one by one so an older server just skips them.
    private static readonly string[] NewerCommands = ["+client|setinfo"];

    /// <summary>
    /// Every rule of the mirror's user after its name except the password and on/off: exact keys (read-write,
    /// read-only), channels and commands, for the month of <paramref name="now"/>.
    /// </summary>
    public static IReadOnlyList<string> Rules(string id, DateTimeOffset now) => Rules(id, now, QuotaPeriod.DefaultBillingDay);

    /// <summary>
    /// As <see cref="Rules(string, DateTimeOffset)"/> for a mirror billed on <paramref name="billingDay"/>: the usage
    /// counters of its previous, current and next billing period, exactly.
    /// </summary>
    public static IReadOnlyList<string> Rules(string id, DateTimeOffset now, int billingDay)
    {
        var rules = new List<string> { "resetkeys" };
        foreach (var key in Keyspace.MirrorWritableKeys(id, now, billingDay))
            rules.Add("%RW~" + key);
        foreach (var key in Keyspace.MirrorReadOnlyKeys(id))
            rules.Add("%R~" + key);
        rules.Add("resetchannels");
        rules.Add("&" + Keyspace.Announce);
        // StackExchange.Redis subscribes to this on every connection; allow it so connecting is quiet.
        rules.Add("&__Booksleeve_MasterChanged");
        rules.AddRange(Commands);
        return rules;
    }

    /// <summary>
    /// Creates or replaces the user, <c>on</c>, with the password whose SHA-256 is <paramref name="passwordSha256"/>
    /// (the mirror's own choice, never seen here). Throws <see cref="RedisServerException"/> NOPERM when the
    /// connection's user may not manage users, or when the store refuses key permissions (Garnet).
    /// </summary>
    public static async Task CreateAsync(IDatabaseAsync db, string id, string passwordSha256, DateTimeOffset now,
        int billingDay = QuotaPeriod.DefaultBillingDay)
    {
        var args = new List<object> { "SETUSER", Keyspace.MirrorAclUser(id), "reset", "on", "#" + passwordSha256 };
        args.AddRange(Rules(id, now, billingDay));
        await db.ExecuteAsync("ACL", args);
        await GrantNewerAsync(db, id);
    }

    /// <summary>
    /// Grants the current rules (the current billing periods' keys) to an existing user, keeping its password and on/off state;
    /// <paramref name="on"/> also switches it on. False when there is no such user.
    /// </summary>
    public static async Task<bool> RegrantAsync(IDatabaseAsync db, string id, DateTimeOffset now, bool on = false,
        int billingDay = QuotaPeriod.DefaultBillingDay)
    {
        var user = Keyspace.MirrorAclUser(id);
        // GETUSER first: SETUSER on a missing name would create an empty user.
        if ((await db.ExecuteAsync("ACL", "GETUSER", user)).IsNull)
            return false;
        var args = new List<object> { "SETUSER", user };
        if (on)
            args.Add("on");
        args.AddRange(Rules(id, now, billingDay));
        await db.ExecuteAsync("ACL", args);
        await GrantNewerAsync(db, id);
        return true;
    }

    private static async Task GrantNewerAsync(IDatabaseAsync db, string id)
    {
        foreach (var command in NewerCommands)
        {
            try
            {
                await db.ExecuteAsync("ACL", "SETUSER", Keyspace.MirrorAclUser(id), command);
            }
            catch (RedisServerException e) when (!e.Message.StartsWith("NOPERM", StringComparison.Ordinal))
            {
                // Unknown to this server version: the client library does without it.
            }
        }
    }

    /// <summary>Deletes the user (removal of a mirror). Throws NOPERM when the connection's user may not manage users.</summary>
    public static async Task DeleteAsync(IDatabaseAsync db, string id)
    {
        try
        {
            await db.ExecuteAsync("ACL", "DELUSER", Keyspace.MirrorAclUser(id));
        }
        catch (RedisServerException e) when (!e.Message.StartsWith("NOPERM", StringComparison.Ordinal))
        {
            // No ACL support: nothing to delete.
        }
    }

    /// <summary>The mirror ids that have a user on the primary (<c>dl-m-{id}</c>), for removing users whose mirror is gone.</summary>
    public static async Task<IReadOnlyList<string>> UsersAsync(IDatabaseAsync db)
    {
        var ids = new List<string>();
        var prefix = Keyspace.MirrorAclUser("");
        foreach (var name in (RedisResult[])(await db.ExecuteAsync("ACL", "USERS"))!)
        {
            var text = name.ToString();
            if (text.StartsWith(prefix, StringComparison.Ordinal))
                ids.Add(text[prefix.Length..]);
        }
        return ids;
    }

    /// <summary>Whether the exception is Redis refusing the connection's user a command (least privilege), not a failure.</summary>
    public static bool IsNoPermission(RedisServerException e) => e.Message.StartsWith("NOPERM", StringComparison.Ordinal);

    /// <summary>
    /// Makes a mirror's user survive restarts and failovers. Redis neither replicates ACL users nor
    /// saves them by itself: this copies the user's rules from the primary to every other node the
    /// client knows (replicas, so a Sentinel failover keeps the mirror's credentials valid) and asks
    /// each node to save its ACL file (a no-op error where no aclfile is configured). Returns how many
    /// nodes hold the current rules.
    /// </summary>
    public static async Task<int> PropagateAsync(IConnectionMultiplexer redis, string id)
    {
        var user = Keyspace.MirrorAclUser(id);
        IServer? primary = null;
        foreach (var server in redis.GetServers())
        {
            if (server.IsConnected && !server.IsReplica)
                primary = server;
        }
        if (primary is null)
            return 0;
        string[]? rules = null;
        try
        {
            var list = await primary.ExecuteAsync("ACL", "LIST");
            foreach (var line in (RedisResult[])list!)
            {
                var text = line.ToString();
                if (text.StartsWith($"user {user} ", StringComparison.Ordinal))
                    rules = text.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2..];
            }
        }
        catch (RedisServerException)
        {
            return 0; // No ACL support (shared-user store).
        }
        var nodes = 0;
        foreach (var server in redis.GetServers())
        {
            if (!server.IsConnected)
                continue;
            try
            {
                if (!ReferenceEquals(server, primary))
                {
                    if (rules is null)
                        await server.ExecuteAsync("ACL", "DELUSER", user);
                    else
                        await server.ExecuteAsync("ACL", ["SETUSER", user, "reset", .. rules]);
                }
                nodes++;
                await server.ExecuteAsync("ACL", "SAVE");
            }
            catch (RedisServerException)
            {
                // "not configured to use an ACL file": the user lives in memory only on that node.
            }
        }
        return nodes;
    }
}
