using Microsoft.Extensions.DependencyInjection;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Tests.Membership;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>The refresher's reading of a mirror's usage counter, timed with the instant that chose the counter's period.</summary>
public sealed class QuotaReadingTests : IDisposable
{
    private const long TB = 1_000_000_000_000;
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task A_round_read_while_a_billing_period_begins_files_the_old_total_under_the_old_period_and_warns_of_nothing()
    {
        // Billed on the 1st, 5 TB: 4 TB used by the last second of January, which at that mean lasts into February,
        // past the period's end. Filed under February instead, 4 TB in its first seconds would run out at once.
        var boundary = new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero);
        var service = Members.Service(_redis);
        await Members.EnrollAsync(service, "q1");
        Assert.True((await service.ApproveAsync("q1")).Ok);
        Assert.True((await service.SetQuotaAsync("q1", 5 * TB)).Ok);
        var admin = _redis.Admin.GetDatabase();
        await admin.StringSetAsync(Keyspace.MirrorPeriodBytes("q1", boundary.AddSeconds(-1), 1), 4 * TB);

        var options = Options.Create(new RedirectorOptions());
        var counters = new CounterRegistry();
        using var mux = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        using var http = new HttpClient();
        var clock = new FakeTimeProvider(boundary.AddSeconds(-1));
        await using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var releases = new Downloads.Redirector.Staging.ReleaseWatch(services.GetRequiredService<IHttpClientFactory>(), options, clock,
            NullLogger<Downloads.Redirector.Staging.ReleaseWatch>.Instance);
        using var refresher = new SnapshotRefresher(new SnapshotHolder(), new ManifestFetcher(http, options, counters), mux,
            new SnapshotBuilder(options, counters, releases), options, clock, NullLogger<SnapshotRefresher>.Instance, new HeldBackManifest(),
            new SavedState(options, NullLogger<SavedState>.Instance), releases);

        // Every look at the clock moves it 2 s: the round picks January's counter and reads it across midnight.
        clock.AutoAdvanceAmount = TimeSpan.FromSeconds(2);
        var first = (await refresher.RefreshMirrorsOnceAsync()).Mirrors.Single(m => m.Record.Id == "q1");
        Assert.Equal(4 * TB, first.Record.MonthBytes);
        var forecast = first.Usage.Forecast;
        Assert.Equal(boundary.AddSeconds(-1), forecast.At);
        Assert.Equal(boundary, forecast.PeriodEnd);
        Assert.True(forecast.RunsOutAt > boundary, $"runs out {forecast.RunsOutAt:u}");
        Assert.False(forecast.Warning);

        // The next round reads February's counter: a new period, nothing used, nothing to warn of.
        clock.AutoAdvanceAmount = TimeSpan.Zero;
        clock.Advance(TimeSpan.FromSeconds(10));
        await admin.StringSetAsync(Keyspace.MirrorPeriodBytes("q1", boundary, 1), 1_000_000);
        var next = (await refresher.RefreshMirrorsOnceAsync()).Mirrors.Single(m => m.Record.Id == "q1");
        Assert.Equal(1_000_000, next.Record.MonthBytes);
        Assert.Equal(new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero), next.Usage.Forecast.PeriodEnd);
        Assert.False(next.Usage.Forecast.Warning);
    }
}
