using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Testing;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Membership;

public sealed class AclIsolationTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private async Task<ConnectionMultiplexer> ConnectAsAsync(string user, string password) =>
        await ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},user={user},password={password},abortConnect=true,connectTimeout=3000");

    private async Task<string> RawAuthAsync(string user, string password)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, redis.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"AUTH {user} {password}\r\n"));
        using var reader = new StreamReader(stream);
        return await reader.ReadLineAsync() ?? "";
    }

    private static async Task AssertRefusedAsync(Func<Task> write, string what)
    {
        var e = await Assert.ThrowsAsync<RedisServerException>(write);
        Assert.True(e.Message.StartsWith("NOPERM", StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public async Task Mirror_A_can_report_its_own_keys_but_cannot_write_mirror_B_or_the_mirror_table()
    {
        var service = Members.Service(redis);
        var a = await Members.EnrollAsync(service, "acl-a");
        await Members.EnrollAsync(service, "acl-b");
        Assert.Equal("dl-m-acl-a", a.User);
        Assert.False(a.SharedUser);
        Assert.True((await service.ApproveAsync("acl-a")).Ok);
        Assert.True((await service.ApproveAsync("acl-b")).Ok);

        await using var mux = await ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},user={a.User},password={a.Password},allowAdmin=true");
        var db = mux.GetDatabase();
        var now = DateTimeOffset.UtcNow;

        // Its own report and registration work, in one transaction.
        await MirrorStore.ReportAsync(db, "acl-a", [new(Keyspace.StateFields.Serial, "7")], TimeSpan.FromSeconds(30), 1234, now);
        await MirrorStore.WriteInfoAsync(db, "acl-a", [new(Keyspace.InfoFields.Name, "A")]);
        Assert.Equal("approved", (string?)await db.HashGetAsync(Keyspace.MirrorConfig("acl-a"), Keyspace.ConfigFields.Status));
        var record = (await MirrorStore.LoadAllAsync(redis.Admin.GetDatabase(), now)).Single(m => m.Id == "acl-a");
        Assert.Equal(7, record.Serial);
        Assert.Equal(1234, record.MonthBytes);
        Assert.True(record.Alive);

        // Mirror B's keys: neither write nor read.
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorState("acl-b"), "serial", "999"), "write B state");
        await AssertRefusedAsync(() => db.StringSetAsync(Keyspace.MirrorAlive("acl-b"), "1"), "write B heartbeat");
        await AssertRefusedAsync(() => db.StringIncrementAsync(Keyspace.MirrorMonthBytes("acl-b", now), -1000), "write B month");
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorInfo("acl-b"), "httpUrl", "http://evil.example"), "write B info");
        await AssertRefusedAsync(() => db.HashGetAllAsync(Keyspace.MirrorInfo("acl-b")), "read B info");
        // Ops-owned and redirector-owned keys, including its own config and health.
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorConfig("acl-a"), "quotaBytes", "0"), "write own config");
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorConfig("acl-b"), "status", "pending"), "write B config");
        await AssertRefusedAsync(() => db.SetAddAsync(Keyspace.Mirrors, "evil"), "add to mirror table");
        await AssertRefusedAsync(() => db.SetRemoveAsync(Keyspace.Mirrors, "acl-b"), "remove from mirror table");
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorHealth("acl-a"), "ok", "1"), "write own health");
        await AssertRefusedAsync(() => db.PublishAsync(Keyspace.Announce, "999"), "publish a serial");
        await AssertRefusedAsync(() => db.ExecuteAsync("FLUSHALL"), "flush");
        await AssertRefusedAsync(() => db.ExecuteAsync("KEYS", "*"), "list keys");
        // Exact keys only: no key of its own tag outside its set, however it is named.
        await AssertRefusedAsync(() => db.StringSetAsync("dl:m:{acl-a}:month:209912", "1"), "create a far month counter");
        await AssertRefusedAsync(() => db.StringSetAsync("dl:m:{acl-a}:junk", new string('x', 1000)), "create a key of its own");
        await AssertRefusedAsync(() => db.HashSetAsync("dl:m:{acl-a}:info2", "a", "b"), "create a hash next to info");
        await AssertRefusedAsync(() => db.HashSetAsync("dl:m:{acl-a}:approved", "httpUrl", "http://evil.example"), "write an approved record");
        await AssertRefusedAsync(() => db.StringSetAsync("dl:other", "1"), "create a key elsewhere");
        // Nor other mirrors' secrets: B's config holds its password hash and key.
        await AssertRefusedAsync(() => db.HashGetAsync(Keyspace.MirrorConfig("acl-b"), Keyspace.ConfigFields.PasswordSha256), "read B's password hash");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "GETUSER", "dl-m-acl-b"), "read B's user");
        await AssertRefusedAsync(() => db.ExecuteAsync("ACL", "SETUSER", "dl-m-acl-a", "~*"), "widen its own user");
        await AssertRefusedAsync(() => db.ExecuteAsync("CONFIG", "GET", "masterauth"), "read the replication password");
        await AssertRefusedAsync(() => db.ExecuteAsync("APPEND", Keyspace.MirrorAlive("acl-a").ToString(), "x"), "a command the reporter does not use");
        // A report that touches B's key inside a transaction fails as a whole.
        await Assert.ThrowsAnyAsync<RedisException>(() => MirrorStore.ReportAsync(db, "acl-b", [new("serial", "1")], TimeSpan.FromSeconds(5), 1, now));

        var b = (await MirrorStore.LoadAllAsync(redis.Admin.GetDatabase(), now)).Single(m => m.Id == "acl-b");
        Assert.Equal(0, b.Serial);
        Assert.False(b.Alive);
        Assert.Equal("http://acl-b.example.org", b.HttpUrl);
    }

    [Fact]
    public async Task A_heartbeat_with_a_long_expiry_keeps_no_mirror_alive_once_its_time_is_old()
    {
        var service = Members.Service(redis);
        var a = await Members.EnrollAsync(service, "acl-beat");
        Assert.True((await service.ApproveAsync("acl-beat")).Ok);
        await using var mux = await ConnectAsAsync(a.User!, a.Password!);
        var db = mux.GetDatabase();
        var now = DateTimeOffset.UtcNow;
        async Task<bool> AliveAsync() => (await MirrorStore.LoadAllAsync(redis.Admin.GetDatabase(), now)).Single(m => m.Id == "acl-beat").Alive;

        await db.StringSetAsync(Keyspace.MirrorAlive("acl-beat"), now.ToUnixTimeSeconds(), TimeSpan.FromDays(3650));
        Assert.True(await AliveAsync());
        // Its user may set any expiry on its own heartbeat, but the time in it ages.
        await db.StringSetAsync(Keyspace.MirrorAlive("acl-beat"), (now - Keyspace.MirrorHeartbeatMaxAge).ToUnixTimeSeconds() - 1);
        Assert.False(await AliveAsync());
        await db.StringSetAsync(Keyspace.MirrorAlive("acl-beat"), (now + Keyspace.MirrorHeartbeatMaxAge).ToUnixTimeSeconds() + 1);
        Assert.False(await AliveAsync());
        await db.StringSetAsync(Keyspace.MirrorAlive("acl-beat"), "forever");
        Assert.False(await AliveAsync());
    }

    [Fact]
    public async Task A_mirror_reads_what_redirectors_write_about_it_but_not_about_another_mirror_and_writes_none_of_it()
    {
        var service = Members.Service(redis);
        var a = await Members.EnrollAsync(service, "acl-see-a");
        await Members.EnrollAsync(service, "acl-see-b");
        Assert.True((await service.ApproveAsync("acl-see-a")).Ok);
        var admin = redis.Admin.GetDatabase();
        foreach (var id in new[] { "acl-see-a", "acl-see-b" })
        {
            await admin.HashSetAsync(Keyspace.MirrorHealth(id), [new(Keyspace.HealthFields.Ok, "0"), new(Keyspace.HealthFields.Reason, "timeout " + id)]);
            await admin.ListRightPushAsync(Keyspace.MirrorBandwidthMinutes(id), "1764849600:125000");
            await admin.ListRightPushAsync(Keyspace.MirrorBandwidthHours(id), "1764849600:100000");
        }
        await admin.StringSetAsync(Keyspace.MirrorHealthLease("acl-see-a", 1), "redirector-1");

        await using var mux = await ConnectAsAsync(a.User!, a.Password!);
        var db = mux.GetDatabase();
        Assert.Equal("timeout acl-see-a", (string?)await db.HashGetAsync(Keyspace.MirrorHealth("acl-see-a"), Keyspace.HealthFields.Reason));
        Assert.Equal("1764849600:125000", (string?)(await db.ListRangeAsync(Keyspace.MirrorBandwidthMinutes("acl-see-a")))[0]);
        Assert.Single(await db.ListRangeAsync(Keyspace.MirrorBandwidthHours("acl-see-a")));

        await AssertRefusedAsync(() => db.HashGetAllAsync(Keyspace.MirrorHealth("acl-see-b")), "read B health");
        await AssertRefusedAsync(() => db.ListRangeAsync(Keyspace.MirrorBandwidthMinutes("acl-see-b")), "read B history");
        await AssertRefusedAsync(() => db.StringGetAsync(Keyspace.MirrorHealthLease("acl-see-a", 1)), "read own health lease");
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorHealth("acl-see-a"), "ok", "1"), "write own health");
        await AssertRefusedAsync(() => db.ListRightPushAsync(Keyspace.MirrorBandwidthMinutes("acl-see-a"), "1:1"), "write own history");
    }

    [Fact]
    public async Task Approval_replaces_a_user_made_before_exact_keys_with_the_current_rules()
    {
        var service = Members.Service(redis);
        var a = await Members.EnrollAsync(service, "acl-old");
        // As an older release made it: a key pattern over its whole tag, no health, no history, no LRANGE.
        await redis.Admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "dl-m-acl-old", "on", "#" + MirrorIdentity.PasswordSha256(a.Password),
            "resetkeys", "%RW~dl:m:{acl-old}:*", "+@all", "-lrange");
        Assert.True((await service.ApproveAsync("acl-old")).Ok);

        await using var mux = await ConnectAsAsync(a.User!, a.Password!);
        var db = mux.GetDatabase();
        await db.HashGetAllAsync(Keyspace.MirrorHealth("acl-old"));
        await db.ListRangeAsync(Keyspace.MirrorBandwidthMinutes("acl-old"));
        await AssertRefusedAsync(() => db.HashSetAsync(Keyspace.MirrorHealth("acl-old"), "ok", "1"), "write own health");
        await AssertRefusedAsync(() => db.StringSetAsync("dl:m:{acl-old}:junk", "1"), "the old pattern is gone");
        await AssertRefusedAsync(() => db.ExecuteAsync("DEL", Keyspace.MirrorConfig("acl-old").ToString()), "the old commands are gone");
    }

    [Fact]
    public async Task A_mirror_can_subscribe_to_announcements()
    {
        var service = Members.Service(redis);
        var a = await Members.EnrollAsync(service, "acl-sub");
        await service.ApproveAsync("acl-sub");
        await using var mux = await ConnectAsAsync(a.User!, a.Password!);
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await mux.GetSubscriber().SubscribeAsync(Keyspace.Announce, (_, v) => got.TrySetResult(v.ToString()));
        await redis.Admin.GetSubscriber().PublishAsync(Keyspace.Announce, "42");
        Assert.Equal("42", await got.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_pending_mirror_cannot_log_in_until_approved()
    {
        var service = Members.Service(redis);
        var a = await Members.EnrollAsync(service, "acl-pend");
        // A raw AUTH, not a client library that might fall back to another user.
        Assert.StartsWith("-WRONGPASS", await RawAuthAsync(a.User!, a.Password!));
        await service.ApproveAsync("acl-pend");
        await using var mux = await ConnectAsAsync(a.User!, a.Password!);
        Assert.True(mux.IsConnected);
        await mux.GetDatabase().PingAsync();
        Assert.Equal("+OK", await RawAuthAsync(a.User!, a.Password!));
    }
}
