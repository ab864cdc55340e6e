using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Mirror.Reporting;
using Downloads.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Downloads.Mirror.Tests.Reporting;

public sealed class ReportingTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private async Task<MirrorRecord?> LoadAsync(string id) =>
        (await MirrorStore.LoadAllAsync(redis.Admin.GetDatabase(), DateTimeOffset.UtcNow)).SingleOrDefault(m => m.Id == id);

    [Fact]
    public async Task A_mirror_without_token_registers_its_info_and_stays_pending()
    {
        await using var host = new MirrorHost("reg1", redis.Configuration);
        await host.App.StartAsync();
        await Eventually.TrueAsync(async () => (await LoadAsync("reg1"))?.Alive == true, Wait, "reg1 registered and alive");

        var m = (await LoadAsync("reg1"))!;
        Assert.Equal(MirrorStatus.Pending, m.Status);
        // What it wrote is a request: nothing routes by it until ops approve it (copied into the approved record).
        Assert.Equal("", m.HttpUrl);
        await TestMirrors.ApproveInfoAsync(redis.Admin.GetDatabase(), "reg1");
        m = (await LoadAsync("reg1"))!;
        Assert.Equal($"http://127.0.0.1:{host.Port}", m.HttpUrl);
        Assert.Equal(["noobs", "os"], m.Sets);
        Assert.Equal(250, m.CapacityMbps);
        Assert.Equal(2_000_000_000_000, m.QuotaBytes);
        Assert.Equal(51.5, m.Latitude);
        Assert.Equal("GB", m.Country);
        Assert.Equal(64500, m.Asn);
        await host.App.StopAsync();
    }

    [Fact]
    public async Task A_new_live_serial_is_reported_at_once_not_at_the_next_tick()
    {
        // Two minutes between ticks (the most allowed): only the report on the swap itself can bring serial 5 to Redis within the wait.
        await using var host = new MirrorHost("swap1", redis.Configuration, "--Reporting:Interval=00:02:00");
        await host.App.StartAsync();
        await Eventually.TrueAsync(async () => (await LoadAsync("swap1"))?.Alive == true, Wait, "swap1 registered and alive");
        Assert.Equal(0, (await LoadAsync("swap1"))!.Serial);

        host.App.Services.GetRequiredService<Downloads.Mirror.Storage.LiveTree>().Publish(new Downloads.Mirror.Storage.LiveSnapshot(
            new Downloads.Contracts.Manifests.Manifest { Serial = 5 }, [], [], System.Collections.Frozen.FrozenDictionary<string, Downloads.Mirror.Storage.LiveFile>.Empty));

        await Eventually.TrueAsync(async () => (await LoadAsync("swap1"))?.Serial == 5, Wait, "serial 5 reported on the swap");
        await host.App.StopAsync();
    }

    [Fact]
    public async Task Bytes_requests_and_month_transfer_are_counted_exactly_including_file_responses()
    {
        using var files = new TempDirectory("files");
        var payload = new byte[3 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(payload);
        var file = files.Combine("big.bin");
        await File.WriteAllBytesAsync(file, payload);

        await using var host = new MirrorHost("count1", redis.Configuration);
        host.App.MapGet("/big.bin", () => Results.File(file, "application/octet-stream", enableRangeProcessing: true));
        await host.App.StartAsync();
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();

        using var http = new HttpClient { BaseAddress = host.BaseUri };
        for (var i = 0; i < 3; i++)
            Assert.Equal(payload, await http.GetByteArrayAsync("/big.bin"));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/big.bin");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        using var partial = await http.SendAsync(ranged);
        Assert.Equal(100, (await partial.Content.ReadAsByteArrayAsync()).Length);

        // Bodies plus headers: at least the bodies, and not more than a few hundred header bytes per response.
        var bodies = 3L * payload.Length + 100;
        Assert.InRange(counters.Bytes, bodies, bodies + 4 * 1024);
        Assert.Equal(4, counters.Requests);

        await Eventually.TrueAsync(async () => (await LoadAsync("count1"))?.BytesServed == counters.Bytes, Wait, "report of every byte");
        var m = (await LoadAsync("count1"))!;
        Assert.Equal(counters.Bytes, m.MonthBytes);
        Assert.Equal(4, m.Requests);
        Assert.True(m.Alive);
        await host.App.StopAsync();
    }

    [Fact]
    public async Task Heartbeat_expires_when_the_mirror_stops_so_the_record_is_not_alive()
    {
        await using var host = new MirrorHost("beat1", redis.Configuration, "--Reporting:HeartbeatTtl=00:00:00.600");
        await host.App.StartAsync();
        await Eventually.TrueAsync(async () => (await LoadAsync("beat1"))?.Alive == true, Wait, "beat1 alive");
        var ttl = await redis.Admin.GetDatabase().KeyTimeToLiveAsync(Keyspace.MirrorAlive("beat1"));
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(600));

        await host.App.StopAsync();
        await Eventually.TrueAsync(async () => (await LoadAsync("beat1"))?.Alive == false, Wait, "beat1 heartbeat expired");
    }

    [Fact]
    public async Task The_mirror_counts_in_the_usage_key_of_the_billing_period_ops_set_in_its_config()
    {
        using var own = new RedisServer();
        var db = own.Admin.GetDatabase();
        await MirrorStore.SetConfigAsync(db, "bill1", (Keyspace.ConfigFields.BillingDay, "15"));
        await using var host = new MirrorHost("bill1", own.Configuration, "--Reporting:Interval=00:02:00");
        host.App.MapGet("/x", () => "0123456789");
        await host.App.StartAsync();
        var reporter = host.App.Services.GetRequiredService<MirrorReporter>();
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();
        using var http = new HttpClient { BaseAddress = host.BaseUri };
        Assert.Equal("0123456789", await http.GetStringAsync("/x"));
        Assert.True(await reporter.ReportOnceAsync());

        var now = DateTimeOffset.UtcNow;
        Assert.True(counters.Bytes > 10);
        Assert.Equal(counters.Bytes, (long)await db.StringGetAsync(Keyspace.MirrorPeriodBytes("bill1", now, 15)));
        // Not the calendar month's counter, which nobody reads for this mirror any more.
        Assert.False(await db.KeyExistsAsync(Keyspace.MirrorMonthBytes("bill1", now)));
        await host.App.StopAsync();
    }

    [Fact]
    public async Task Counts_made_while_Redis_is_down_reach_the_month_counter_later()
    {
        using var own = new RedisServer();
        await using var host = new MirrorHost("down1", own.Configuration, "--Reporting:Interval=00:02:00");
        host.App.MapGet("/x", () => "0123456789");
        await host.App.StartAsync();
        var reporter = host.App.Services.GetRequiredService<MirrorReporter>();
        var counters = host.App.Services.GetRequiredService<TrafficCounters>();
        Assert.True(await reporter.ReportOnceAsync());

        own.Stop();
        using var http = new HttpClient { BaseAddress = host.BaseUri };
        Assert.Equal("0123456789", await http.GetStringAsync("/x"));
        Assert.False(await reporter.ReportOnceAsync());

        own.Start();
        await Eventually.TrueAsync(() => reporter.ReportOnceAsync(), Wait, "report after Redis restart");
        var month = await own.Admin.GetDatabase().StringGetAsync(Keyspace.MirrorMonthBytes("down1", DateTimeOffset.UtcNow));
        Assert.Equal(counters.Bytes, (long)month);
        Assert.True(counters.Bytes > 10);
        await host.App.StopAsync();
    }

    [Fact]
    public async Task A_pending_mirror_logs_waiting_for_approval_once_then_once_when_approved()
    {
        // As deployed: the default user needs a password (a refused login cannot fall back to it), and a
        // pending mirror's own user exists but is switched off until ops approve it (as enrollment leaves it).
        using var own = new RedisServer();
        const string user = "dl-m-pend1";
        await own.Admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "ops", "on", ">ops-secret", "~*", "&*", "+@all");
        await own.Admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", user, "reset", "off", ">pend1-secret", "~dl:*", "&*", "+@all");
        await own.Admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "default", "resetpass", ">default-secret");
        var ops = $"{own.Endpoint},user=ops,password=ops-secret,abortConnect=false";
        using var admin = await ConnectionMultiplexer.ConnectAsync(ops);

        await using var host = new MirrorHost("pend1", ops, "--Reporting:Interval=00:02:00");
        await host.App.StartAsync();
        var services = host.App.Services;
        using var mux = await ConnectionMultiplexer.ConnectAsync($"{own.Endpoint},user={user},password=pend1-secret,abortConnect=false,connectTimeout=1000,asyncTimeout=500,syncTimeout=500");
        var recording = new RecordingLoggerProvider();
        using var logs = new LoggerFactory([recording]);
        var reporter = new MirrorReporter(mux, services.GetRequiredService<Microsoft.Extensions.Options.IOptions<MirrorOptions>>(),
            Microsoft.Extensions.Options.Options.Create(new ReportingOptions()), services.GetRequiredService<TrafficCounters>(),
            services.GetRequiredService<Downloads.Mirror.Storage.LiveTree>(), services.GetRequiredService<Downloads.Mirror.Sync.SyncStatus>(),
            TimeProvider.System, logs.CreateLogger<MirrorReporter>());
        List<string> Lines() => recording.Lines.Where(l => l.Contains("MirrorReporter", StringComparison.Ordinal)).ToList();

        const int intervals = 6;
        for (var i = 0; i < intervals; i++)
            Assert.False(await reporter.ReportOnceAsync());
        var lines = Lines();
        Assert.True(lines.Count == 1, string.Join("\n", lines));
        Assert.Contains("Information Mirror pend1 is waiting for approval", lines[0], StringComparison.Ordinal);

        await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", user, "on");
        await Eventually.TrueAsync(() => reporter.ReportOnceAsync(), Wait, "report once the user is on");
        Assert.True(await reporter.ReportOnceAsync());
        lines = Lines();
        Assert.Single(lines, l => l.Contains("waiting for approval", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("Information Mirror pend1 is approved", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(" Warning ", StringComparison.Ordinal));
        await host.App.StopAsync();
    }

    [Fact]
    public async Task A_report_in_flight_when_the_host_is_disposed_ends_as_a_failed_report_not_an_exception()
    {
        // Shutting down during a failover: the last report waits on a Redis that answers nothing while the
        // container disposes its singletons (the host's stop timeout passed).
        using var own = new RedisServer();
        await using var host = new MirrorHost("late1", own.Configuration, "--Reporting:Interval=00:02:00");
        await host.App.StartAsync();
        var services = host.App.Services;
        using var mux = await ConnectionMultiplexer.ConnectAsync($"{own.Endpoint},abortConnect=false,asyncTimeout=500,syncTimeout=500");
        var reporter = new MirrorReporter(mux, services.GetRequiredService<Microsoft.Extensions.Options.IOptions<MirrorOptions>>(),
            Microsoft.Extensions.Options.Options.Create(new ReportingOptions()), services.GetRequiredService<TrafficCounters>(),
            services.GetRequiredService<Downloads.Mirror.Storage.LiveTree>(), services.GetRequiredService<Downloads.Mirror.Sync.SyncStatus>(),
            TimeProvider.System, NullLogger<MirrorReporter>.Instance);
        Assert.True(await reporter.ReportOnceAsync());

        own.Suspend();
        try
        {
            var inFlight = reporter.ReportOnceAsync();
            // What the container does to a disposable singleton; a no-op while the reporter is not IDisposable,
            // and the guard should it become one again.
            ((object)reporter as IDisposable)?.Dispose();
            Assert.False(await inFlight.WaitAsync(Wait));
        }
        finally
        {
            own.Resume();
        }
        Assert.True(await reporter.ReportOnceAsync());

        // The container disposes the Redis connection too: a report still to run then (the final one on
        // shutdown) fails like any other instead of throwing.
        await mux.DisposeAsync();
        Assert.False(await reporter.ReportOnceAsync());
        await host.App.StopAsync();
    }

    [Fact]
    public async Task A_mirror_past_its_monthly_quota_shows_month_bytes_at_or_over_its_quota()
    {
        // 0.000000001 TB = 1000 bytes; the selection excludes a record with MonthBytes >= QuotaBytes.
        await using var host = new MirrorHost("quota1", redis.Configuration, "--Mirror:QuotaTB=0.000000001");
        host.App.MapGet("/blob", () => Results.Bytes(new byte[3000], "application/octet-stream"));
        await host.App.StartAsync();
        await Eventually.TrueAsync(async () => (await LoadAsync("quota1"))?.Alive == true, Wait, "quota1 alive");
        var before = (await LoadAsync("quota1"))!;
        Assert.Equal(1000, before.QuotaBytes);
        Assert.True(before.MonthBytes < before.QuotaBytes);

        using var http = new HttpClient { BaseAddress = host.BaseUri };
        Assert.Equal(3000, (await http.GetByteArrayAsync("/blob")).Length);
        await Eventually.TrueAsync(async () => (await LoadAsync("quota1"))!.MonthBytes >= 1000, Wait, "month bytes past quota");
        await host.App.StopAsync();
    }
}
