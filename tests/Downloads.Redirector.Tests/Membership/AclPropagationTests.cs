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

        // Pending: the user exists everywhere but is off.
        Assert.Contains($"user {user} off", await File.ReadAllTextAsync(_acl.Combine("replica.acl")));
        Assert.Contains($"user {user} off", await File.ReadAllTextAsync(_acl.Combine("primary.acl")));

        var approved = await service.ApproveAsync("acl1");
        Assert.True(approved.Ok, approved.Reason);
        Assert.Contains($"user {user} on", await File.ReadAllTextAsync(_acl.Combine("replica.acl")));

        // After a failover the replica answers: the mirror's password works there.
        using (var asMirror = await ConnectionMultiplexer.ConnectAsync($"{_replica.Endpoint},user={user},password={enrolled.Password}"))
            await Eventually.TrueAsync(async () => await asMirror.GetDatabase().KeyExistsAsync(Keyspace.MirrorInfo("acl1")),
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
}
