using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Membership;
using Downloads.Redirector.Selection;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Membership;

/// <summary>
/// A mirror billed on the 15th, on a fake clock against a real redis-server with its own ACL user: ops set the
/// billing day, the mirror's user is granted exactly that period's keys, its report counts there, redirectors
/// read that counter, and at the boundary the key switches and the pace starts afresh.
/// </summary>
public sealed class BillingPeriodTests : IDisposable
{
    private const long TB = 1_000_000_000_000;
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    private static DateTimeOffset Utc(int m, int d, int h = 0, int min = 0, int s = 0) =>
        new(m == 12 ? 2026 : 2027, m, d, h, min, s, TimeSpan.Zero);

    [Fact]
    public async Task Billing_day_15_moves_the_granted_counter_keys_and_the_pace_resets_at_the_boundary()
    {
        var clock = new FakeTimeProvider(Utc(1, 10, 12));
        var service = new MembershipService(_redis.Admin, Options.Create(new MembershipOptions()), clock, NullLogger<MembershipService>.Instance);
        var enrolled = await Members.EnrollAsync(service, "bill1");
        Assert.True((await service.ApproveAsync("bill1")).Ok);
        await using var asMirror = await ConnectionMultiplexer.ConnectAsync($"{_redis.Endpoint},user={enrolled.User},password={enrolled.Password}");
        var db = asMirror.GetDatabase();
        var admin = _redis.Admin.GetDatabase();

        // Before the change: billing day 1, the calendar month's counter, as before this feature.
        Assert.Equal(1, await MirrorStore.ReadBillingDayAsync(db, "bill1"));
        await MirrorStore.ReportAsync(db, "bill1", [new(Keyspace.StateFields.Serial, "1")], TimeSpan.FromMinutes(5), 7, clock.GetUtcNow(), 1);
        Assert.Equal(7, (long)await admin.StringGetAsync("dl:m:{bill1}:month:202701"));

        var quota = await service.SetQuotaAsync("bill1", 1 * TB);
        Assert.True(quota.Ok, quota.Reason);
        var set = await service.SetBillingDayAsync("bill1", 15);
        Assert.True(set.Ok, set.Reason);
        Assert.Equal(15, set.Value!.BillingDay);
        Assert.False((await service.SetBillingDayAsync("bill1", 29)).Ok);

        // The mirror learns its billing day from its config and counts in the period that began on 15 Dec.
        var day = await MirrorStore.ReadBillingDayAsync(db, "bill1");
        Assert.Equal(15, day);
        await MirrorStore.ReportAsync(db, "bill1", [new(Keyspace.StateFields.Serial, "2")], TimeSpan.FromMinutes(5), 960_000_000_000, clock.GetUtcNow(), day);
        Assert.Equal(960_000_000_000, (long)await admin.StringGetAsync("dl:m:{bill1}:month:20261215"));

        // Exactly the previous, current and next period's keys: not the calendar month's any more, not an older period's.
        await AssertRefusedAsync(() => db.StringIncrementAsync("dl:m:{bill1}:month:202701", 1));
        await AssertRefusedAsync(() => db.StringIncrementAsync("dl:m:{bill1}:month:20261015", 1));
        await AssertRefusedAsync(() => db.StringIncrementAsync("dl:m:{bill1}:month:20270215", 1));
        await db.StringIncrementAsync("dl:m:{bill1}:month:20261115", 0);
        await db.StringIncrementAsync("dl:m:{bill1}:month:20270115", 0);

        // Redirectors read that counter: past the 95% ceiling, no pace, until the period ends.
        var options = new RedirectorOptions();
        var before = (await MirrorStore.LoadAllAsync(admin, Utc(1, 14, 23, 59, 59))).Single();
        Assert.Equal((15, 1 * TB, 960_000_000_000), (before.BillingDay, before.QuotaBytes, before.MonthBytes));
        Assert.Equal(0, Eligibility.Pace(before, options, Utc(1, 14, 23, 59, 59)));

        // On the 15th the key switches: a fresh counter, the full pace, and the mirror's report lands in the new key.
        clock.SetUtcNow(Utc(1, 15));
        var after = (await MirrorStore.LoadAllAsync(admin, clock.GetUtcNow())).Single();
        Assert.Equal(0, after.MonthBytes);
        Assert.Equal(1, Eligibility.Pace(after, options, clock.GetUtcNow()));
        await MirrorStore.ReportAsync(db, "bill1", [new(Keyspace.StateFields.Serial, "3")], TimeSpan.FromMinutes(5), 11, clock.GetUtcNow(), day);
        Assert.Equal(11, (await MirrorStore.RefreshLiveAsync(admin, [after], clock.GetUtcNow()))[0].MonthBytes);
        Assert.Equal(11, (long)await admin.StringGetAsync("dl:m:{bill1}:month:20270115"));

        // A month on, sync-users moves the grant: 15 Feb's period is writable, 15 Nov's no longer.
        clock.SetUtcNow(Utc(2, 20));
        Assert.True((await service.SyncUsersAsync()).Ok);
        await db.StringIncrementAsync("dl:m:{bill1}:month:20270315", 0);
        await AssertRefusedAsync(() => db.StringIncrementAsync("dl:m:{bill1}:month:20261215", 1));
    }

    [Fact]
    public async Task Ops_set_burst_and_quota_per_mirror_and_the_pace_uses_them()
    {
        var service = Members.Service(_redis);
        await Members.EnrollAsync(service, "burst1");
        Assert.True((await service.ApproveAsync("burst1")).Ok);
        Assert.True((await service.SetQuotaAsync("burst1", 10 * TB)).Ok);
        Assert.True((await service.SetBurstAsync("burst1", 40)).Ok);
        var now = new DateTimeOffset(2027, 3, 1, 1, 0, 0, TimeSpan.Zero);
        var record = (await MirrorStore.LoadAllAsync(_redis.Admin.GetDatabase(), now)).Single() with { MonthBytes = 2 * TB };
        Assert.Equal((10 * TB, 40.0), (record.QuotaBytes, record.BurstPercent));
        // 2 TB on day 1: far ahead of the default 10% burst (1 TB), well within ops' 40% (4 TB).
        Assert.Equal(1, Eligibility.Pace(record, new RedirectorOptions(), now));
        Assert.Equal(0, Eligibility.Pace(record with { BurstPercent = -1 }, new RedirectorOptions(), now));
    }

    [Fact]
    public async Task The_cli_ops_path_sets_the_billing_day_and_regrants_the_mirrors_period_keys_at_once()
    {
        var service = Members.Service(_redis);
        var enrolled = await Members.EnrollAsync(service, "bill2");
        Assert.True((await service.ApproveAsync("bill2")).Ok);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Downloads.Redirector.Cli.OpsCli.RunAsync(["mirrors", "set-billing-day", "bill2", "20", "--redis", $"{_redis.Endpoint},allowAdmin=true"], output, error, _ => null);
        Assert.True(code == 0, error.ToString());
        Assert.Matches(@"(?m)^bill2\s.*\s20\s", output.ToString());

        // The mirror may count in its new period's key straight away, without waiting for sync-users.
        await using var asMirror = await ConnectionMultiplexer.ConnectAsync($"{_redis.Endpoint},user={enrolled.User},password={enrolled.Password}");
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(20, await MirrorStore.ReadBillingDayAsync(asMirror.GetDatabase(), "bill2"));
        Assert.Equal(5, await asMirror.GetDatabase().StringIncrementAsync(Keyspace.MirrorPeriodBytes("bill2", now, 20), 5));
        await AssertRefusedAsync(() => asMirror.GetDatabase().StringIncrementAsync(Keyspace.MirrorMonthBytes("bill2", now), 1));
    }

    private static async Task AssertRefusedAsync(Func<Task> write)
    {
        var e = await Assert.ThrowsAsync<RedisServerException>(write);
        Assert.StartsWith("NOPERM", e.Message, StringComparison.Ordinal);
    }
}
