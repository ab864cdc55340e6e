using Downloads.Contracts.Redis;
using Downloads.Testing;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Membership;

/// <summary>
/// The origin's and the redirector's Redis users, with the very rules Ansible ships (ansible/roles/redis/files/acl/*.acl,
/// the one source), applied to a real redis-server: each does its job and is refused everything else that matters.
/// </summary>
public sealed class ServiceAclTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private async Task<ConnectionMultiplexer> ConnectAsAsync(string user)
    {
        await ShippedAcl.CreateAsync(redis.Admin.GetDatabase(), user, "pw-" + user);
        return await ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},user={user},password=pw-{user},allowAdmin=true,abortConnect=true");
    }

    private static async Task AssertRefusedAsync(Func<Task> command, string what)
    {
        var e = await Assert.ThrowsAsync<RedisServerException>(command);
        Assert.True(e.Message.StartsWith("NOPERM", StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public async Task The_origin_can_only_announce_a_serial_and_read_mirrors_approved_keys()
    {
        await using var mux = await ConnectAsAsync("dl-origin");
        var db = mux.GetDatabase();
        await db.PingAsync();
        await db.PublishAsync(Keyspace.Announce, "7");
        // What MirrorKeyDirectory reads to verify signed mirror requests (origin/Limits/).
        await db.SetMembersAsync(Keyspace.Mirrors);
        await db.HashGetAsync(Keyspace.MirrorConfig("m1"), [Keyspace.ConfigFields.Status, Keyspace.ConfigFields.PublicKey]);

        await AssertRefusedAsync(() => db.ExecuteAsync("CONFIG", "GET", "masterauth"), "read the replication password");
        await AssertRefusedAsync(() => db.ExecuteAsync("CONFIG", "GET", "*"), "read the configuration");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "LIST"), "read the users");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "SETUSER", "evil", "on", ">x", "+@all", "~*"), "create a user");
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorConfig("m1"), "status", "approved"), "approve a mirror");
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorInfo("m1"), "httpUrl", "http://evil.example"), "write a mirror record");
        await AssertRefusedAsync(() => db.SetAddAsync(Keyspace.Mirrors, "evil"), "add a mirror");
        await AssertRefusedAsync(() => db.StringGetAsync(Keyspace.MirrorAlive("m1")), "read mirror keys");
        await AssertRefusedAsync(() => db.HashGetAllAsync(Keyspace.MirrorConfig("m1")), "read a whole config hash");
        await AssertRefusedAsync(() => db.HashGetAsync(Keyspace.MirrorInfo("m1"), "httpUrl"), "read a mirror's info");
        await AssertRefusedAsync(() => db.PublishAsync(Keyspace.MirrorsChanged, "m1"), "announce a mirror change");
        await AssertRefusedAsync(() => db.ExecuteAsync("FLUSHALL"), "flush");
    }

    [Fact]
    public async Task The_redirector_works_on_the_keyspace_but_cannot_manage_users_or_the_server()
    {
        await using var mux = await ConnectAsAsync("dl-redirector");
        var db = mux.GetDatabase();
        // What it does: mirror table, config, health, counters, announcements, ROLE/WAIT for counter durability.
        await db.HashSetAsync(Keyspace.MirrorConfig("m1"), "enabled", "0");
        await db.SetAddAsync(Keyspace.Mirrors, "m1");
        await db.HashGetAllAsync(Keyspace.MirrorInfo("m1"));
        await db.PublishAsync(Keyspace.MirrorsChanged, "m1");
        await db.ExecuteAsync("ROLE");
        await db.ExecuteAsync("WAIT", 0, 10);
        await mux.GetServer(redis.Endpoint).InfoAsync("server");

        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "SETUSER", "dl-m-evil", "on", ">x", "~*", "+@all"), "create a user");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "SETUSER", "dl-redirector", "+@all"), "widen itself");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "DELUSER", "dl-m-m1"), "delete a mirror's user");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "GETUSER", "dl-admin"), "read a user");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "LIST"), "list users and their hashes");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "LOAD"), "reload users");
        await AssertRefusedAsync(() => db.ExecuteAsync("CONFIG", "GET", "masterauth"), "read the replication password");
        await AssertRefusedAsync(() => db.ExecuteAsync("CONFIG", "SET", "aclfile", "/tmp/x.acl"), "change the configuration");
        await AssertRefusedAsync(() => db.ExecuteAsync("CONFIG", "SET", "maxmemory", "0"), "lift the memory limit");
        await AssertRefusedAsync(() => db.ExecuteAsync("MODULE", "LIST"), "load code");
        await AssertRefusedAsync(() => db.ExecuteAsync("EVAL", "return 1", 0), "run scripts");
        await AssertRefusedAsync(() => db.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal"), "kill clients");
        await AssertRefusedAsync(() => db.ExecuteAsync("REPLICAOF", "127.0.0.1", 1), "move the primary");
        await AssertRefusedAsync(() => db.ExecuteAsync("FLUSHALL"), "flush");
        await AssertRefusedAsync(() => db.ExecuteAsync("KEYS", "*"), "list keys");
        await AssertRefusedAsync(() => db.StringSetAsync("other:key", "1"), "write outside dl:*");
    }
}
