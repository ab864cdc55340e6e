using Downloads.Contracts.Redis;
using StackExchange.Redis;

namespace Downloads.Redirector.Membership;

/// <summary>
/// A mirror's own Redis ACL user (Redis 7 key permissions). It may read and write exactly its own
/// info, state, heartbeat and month counters, read its ops-owned config and what redirectors write about
/// it (health verdict, bandwidth history: its donor's <c>status</c> command), and subscribe to the
/// announcement channel; nothing else: not another mirror's keys, not the mirror table, no write to its
/// config or health, no PUBLISH, no KEYS/SCAN/FLUSH, no CLIENT KILL.
/// </summary>
internal static class MirrorAcl
{
    // What a mirror does: its report (MULTI, HSET, SET PX, INCRBY, EXPIRE, EXEC), registration (HSET,
    // HGET of its config), SUBSCRIBE to announcements, the donor's status read (HGETALL, GET, TTL, LRANGE), and what StackExchange.Redis sends when it
    // connects (HELLO/AUTH, CLIENT SETNAME/SETINFO/ID, PING, ECHO, INFO, GET of its tie-breaker key,
    // which is refused harmlessly). Explicit commands rather than categories: @connection includes CLIENT KILL.
    private static readonly string[] Commands =
    [
        "-@all",
        "+auth", "+hello", "+ping", "+echo", "+quit", "+reset", "+select", "+info",
        "+client|setname", "+client|getname", "+client|id",
        "+multi", "+exec", "+discard", "+watch", "+unwatch",
        "+hset", "+hmset", "+hget", "+hmget", "+hgetall", "+hdel", "+lrange",
        "+get", "+set", "+setex", "+psetex", "+incr", "+incrby", "+expire", "+pexpire", "+exists", "+ttl", "+pttl", "+type",
        "+subscribe", "+unsubscribe",
    ];

    // Commands newer than Redis 7.0 (CLIENT SETINFO is 7.2): granted one by one so an older server just skips them.
    private static readonly string[] NewerCommands = ["+client|setinfo"];

    /// <summary>Creates or replaces the user, <c>off</c> until approval.</summary>
    public static async Task CreateAsync(IDatabaseAsync db, string id, string password)
    {
        var args = new List<object> { "SETUSER", Keyspace.MirrorAclUser(id), "reset", "off", ">" + password, "resetkeys" };
        foreach (var p in Keyspace.MirrorWritablePatterns(id))
            args.Add("%RW~" + p);
        foreach (var p in Keyspace.MirrorReadOnlyPatterns(id))
            args.Add("%R~" + p);
        args.Add("resetchannels");
        args.Add("&" + Keyspace.Announce);
        // StackExchange.Redis subscribes to this on every connection; allow it so connecting is quiet.
        args.Add("&__Booksleeve_MasterChanged");
        args.AddRange(Commands);
        await db.ExecuteAsync("ACL", args);
        foreach (var command in NewerCommands)
        {
            try
            {
                await db.ExecuteAsync("ACL", "SETUSER", Keyspace.MirrorAclUser(id), command);
            }
            catch (RedisServerException)
            {
                // Unknown to this server version: the client library does without it.
            }
        }
    }

    /// <summary>Switches the user on or off; false when the mirror has no user (shared-user store or direct registration).</summary>
    public static async Task<bool> SetEnabledAsync(IDatabaseAsync db, string id, bool on)
    {
        var user = Keyspace.MirrorAclUser(id);
        try
        {
            // GETUSER first: SETUSER on a missing name would create an empty user.
            var existing = await db.ExecuteAsync("ACL", "GETUSER", user);
            if (existing.IsNull)
                return false;
            await db.ExecuteAsync("ACL", "SETUSER", user, on ? "on" : "off");
            if (on)
                await GrantReadsAsync(db, id);
            return true;
        }
        catch (RedisServerException)
        {
            return false;
        }
    }

    /// <summary>
    /// Adds the current read-only patterns and read commands to an existing user (additive, idempotent), so
    /// that a mirror enrolled before a pattern was added gets it when ops approve or re-enable it.
    /// </summary>
    private static async Task GrantReadsAsync(IDatabaseAsync db, string id)
    {
        var args = new List<object> { "SETUSER", Keyspace.MirrorAclUser(id) };
        foreach (var p in Keyspace.MirrorReadOnlyPatterns(id))
            args.Add("%R~" + p);
        args.Add("+lrange");
        await db.ExecuteAsync("ACL", args);
    }

    /// <summary>Deletes the user (removal of a mirror).</summary>
    public static async Task DeleteAsync(IDatabaseAsync db, string id)
    {
        try
        {
            await db.ExecuteAsync("ACL", "DELUSER", Keyspace.MirrorAclUser(id));
        }
        catch (RedisServerException)
        {
            // No ACL support: nothing to delete.
        }
    }

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
