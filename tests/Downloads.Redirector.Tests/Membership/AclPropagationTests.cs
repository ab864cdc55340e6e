using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Membership;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Membership;

/// <summary>
/// Redis replicates data but not ACL users, and keeps them in memory unless saved: a mirror's user
/// must reach every node and its ACL file, or a failover or restart locks the mirror out.
/// </summary>
public sealed class AclPropagationTests : IDisposable
{
    private readonly TempDirectory _acl = new("acl");
    private readonly RedisServer _primary;
    private readonly RedisServer _replica;

    public AclPropagationTests()
    {
        File.WriteAllText(_acl.Combine("primary.acl"), "");
        File.WriteAllText(_acl.Combine("replica.acl"), "");
        _primary = RedisServer.WithArgs(["--aclfile", _acl.Combine("primary.acl")]);
        _replica = RedisServer.WithArgs(["--aclfile", _acl.Combine("replica.acl"), "--replicaof", "127.0.0.1", _primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
    }

    public void Dispose()
    {
        _replica.Dispose();
        _primary.Dispose();
        _acl.Dispose();
    }

    [Fact]
    public async Task Enrolled_and_approved_mirror_user_is_on_every_node_and_saved_and_removal_deletes_it_everywhere()
    {
        using var mux = await ConnectionMultiplexer.ConnectAsync($"{_primary.Endpoint},{_replica.Endpoint},allowAdmin=true");
        await Eventually.TrueAsync(() => mux.GetServers().Count(s => s.IsConnected) == 2 && mux.GetServers().Any(s => s.IsReplica),
            TimeSpan.FromSeconds(10), "client sees the primary and its replica");
        var service = new MembershipService(mux, Options.Create(new MembershipOptions()), TimeProvider.System, NullLogger<MembershipService>.Instance);
        var enrolled = await Members.EnrollAsync(service, "acl1");
        var user = Keyspace.MirrorAclUser("acl1");

        // Pending: no user anywhere; approval (the ops path) makes it from the hash, on every node, saved.
        Assert.DoesNotContain(user, await File.ReadAllTextAsync(_acl.Combine("primary.acl")));
        Assert.True((await mux.GetServer(_replica.Endpoint).ExecuteAsync("ACL", "GETUSER", user)).IsNull);

        var approved = await service.ApproveAsync("acl1");
        Assert.True(approved.Ok, approved.Reason);
        Assert.Contains($"user {user} on", await File.ReadAllTextAsync(_acl.Combine("replica.acl")));
        Assert.Contains($"user {user} on", await File.ReadAllTextAsync(_acl.Combine("primary.acl")));
        // Redis keeps only the hash the mirror sent; the password never reached it.
        Assert.Contains("#" + MirrorIdentity.PasswordSha256(enrolled.Password), await File.ReadAllTextAsync(_acl.Combine("replica.acl")));

        // After a failover the replica answers: the mirror's password works there.
        using (var asMirror = await ConnectionMultiplexer.ConnectAsync($"{_replica.Endpoint},user={user},password={enrolled.Password}"))
            await Eventually.TrueAsync(async () => (await asMirror.GetDatabase().HashGetAllAsync(Keyspace.MirrorInfo("acl1"))).Length > 0,
                TimeSpan.FromSeconds(10), "the mirror, as its own user on the replica, reads its replicated info");

        // A restart of the replica reloads the user from its saved file.
        _replica.Stop();
        _replica.Start();
        using (var afterRestart = await ConnectionMultiplexer.ConnectAsync($"{_replica.Endpoint},user={user},password={enrolled.Password}"))
            Assert.True(afterRestart.IsConnected);

        await Eventually.TrueAsync(() => mux.GetServers().Count(s => s.IsConnected) == 2, TimeSpan.FromSeconds(15), "client reconnected to the replica");
        var removed = await service.RemoveAsync("acl1");
        Assert.True(removed.Ok, removed.Reason);
        Assert.DoesNotContain(user, await File.ReadAllTextAsync(_acl.Combine("replica.acl")));
        Assert.DoesNotContain(user, await File.ReadAllTextAsync(_acl.Combine("primary.acl")));
    }

    [Fact]
    public async Task Sync_users_grants_each_new_month_on_every_node_restores_a_lost_user_and_deletes_removed_mirrors_users()
    {
        using var mux = await ConnectionMultiplexer.ConnectAsync($"{_primary.Endpoint},{_replica.Endpoint},allowAdmin=true");
        await Eventually.TrueAsync(() => mux.GetServers().Count(s => s.IsConnected) == 2 && mux.GetServers().Any(s => s.IsReplica),
            TimeSpan.FromSeconds(10), "client sees the primary and its replica");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 20, 0, 0, 0, TimeSpan.Zero));
        var service = new MembershipService(mux, Options.Create(new MembershipOptions()), clock, NullLogger<MembershipService>.Instance);
        var enrolled = await Members.EnrollAsync(service, "sync1");
        Assert.True((await service.ApproveAsync("sync1")).Ok);
        var user = Keyspace.MirrorAclUser("sync1");
        await using var asMirror = await ConnectionMultiplexer.ConnectAsync($"{_primary.Endpoint},user={user},password={enrolled.Password}");
        var db = asMirror.GetDatabase();
        var april = new DateTimeOffset(2026, 4, 2, 0, 0, 0, TimeSpan.Zero);
        // Granted in January: December to February. An April report is refused as a whole...
        await Assert.ThrowsAnyAsync<RedisException>(() => MirrorStore.ReportAsync(db, "sync1", [new("serial", "1")], TimeSpan.FromSeconds(30), 5, april));
        // ...but without the counter its heartbeat and state still go in (what the reporter falls back to).
        await MirrorStore.ReportAsync(db, "sync1", [new("serial", "1")], TimeSpan.FromSeconds(30), 5, april, countMonth: false);

        // A replica that lost the user (restarted without its file), and a user whose mirror is gone.
        await mux.GetServer(_replica.Endpoint).ExecuteAsync("ACL", "DELUSER", user);
        await mux.GetDatabase().ExecuteAsync("ACL", "SETUSER", "dl-m-gone1", "on", ">pw");
        clock.SetUtcNow(april);
        var synced = await service.SyncUsersAsync();
        Assert.True(synced.Ok, synced.Reason);
        Assert.Equal(1, synced.Value.Deleted);

        await MirrorStore.ReportAsync(db, "sync1", [new("serial", "2")], TimeSpan.FromSeconds(30), 5, april);
        Assert.Equal(5, (long)await mux.GetDatabase().StringGetAsync(Keyspace.MirrorMonthBytes("sync1", april)));
        // January's key is no longer granted: exact keys move with the calendar.
        await Assert.ThrowsAsync<RedisServerException>(() => db.StringIncrementAsync(Keyspace.MirrorMonthBytes("sync1", clock.GetUtcNow().AddMonths(-3)), 1));
        using (var onReplica = await ConnectionMultiplexer.ConnectAsync($"{_replica.Endpoint},user={user},password={enrolled.Password}"))
            Assert.True(onReplica.IsConnected);
        Assert.True((await mux.GetDatabase().ExecuteAsync("ACL", "GETUSER", "dl-m-gone1")).IsNull);
        Assert.DoesNotContain("dl-m-gone1", await File.ReadAllTextAsync(_acl.Combine("primary.acl")));
    }
}
