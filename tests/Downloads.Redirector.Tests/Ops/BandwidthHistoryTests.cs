using Downloads.Contracts.Redis;
using Downloads.Redirector.Ops;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Ops;

public sealed class BandwidthHistoryTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task Minute_history_is_trimmed_to_24_hours_and_each_hour_rolls_into_its_mean()
    {
        var db = redis.Admin.GetDatabase();
        await db.KeyDeleteAsync([Keyspace.MirrorBandwidthMinutes("h1"), Keyspace.MirrorBandwidthHours("h1")]);
        // 26 hours of minutes starting at a whole hour; the rate in each minute is 1000 × (minute within the hour).
        var start = 29_000_000L / 60 * 60;
        for (var m = 1; m <= 26 * 60; m++)
            await BandwidthHistory.AppendMinuteAsync(db, start + m, [("h1", 1000.0 * ((m - 1) % 60))]);

        var minutes = await BandwidthHistory.ReadAsync(db, "h1", hours: false);
        Assert.Equal(BandwidthHistory.MinutePoints, minutes.Length);
        Assert.Equal((start + 26 * 60) * 60, minutes[^1].Time);
        Assert.True(minutes.Zip(minutes.Skip(1)).All(p => p.Second.Time - p.First.Time == 60), "one point per minute, in order");

        var hours = await BandwidthHistory.ReadAsync(db, "h1", hours: true);
        Assert.Equal(26, hours.Length);
        Assert.All(hours, h => Assert.Equal(29_500, h.Bps)); // mean of 0, 1000, …, 59000
        Assert.True(await db.KeyTimeToLiveAsync(Keyspace.MirrorBandwidthHours("h1")) > TimeSpan.FromDays(80));
        Assert.True(await db.KeyTimeToLiveAsync(Keyspace.MirrorBandwidthMinutes("h1")) <= TimeSpan.FromDays(2));
    }
}
