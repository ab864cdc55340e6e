using System.Globalization;
using Downloads.Contracts.Redis;
using StackExchange.Redis;

namespace Downloads.Redirector.Ops;

/// <summary>
/// Per-mirror bandwidth history in Redis with bounded memory: a list of minute points trimmed to 24 h
/// (<see cref="Keyspace.MirrorBandwidthMinutes"/>) and a list of hour means trimmed to 90 days
/// (<see cref="Keyspace.MirrorBandwidthHours"/>), each point <c>unixSeconds:bytesPerSecond</c>. Both
/// lists carry a TTL, so a removed mirror's history goes away on its own. At most
/// (1440 + 2160) × ~24 bytes ≈ 90 KB per mirror.
/// </summary>
internal static class BandwidthHistory
{
    public const int MinutePoints = 24 * 60;
    public const int HourPoints = 90 * 24;

    /// <summary>Appends one minute point per mirror; at the top of the hour also rolls the previous hour into its mean.</summary>
    public static async Task AppendMinuteAsync(IDatabase db, long unixMinute, IReadOnlyList<(string Id, double Bps)> points)
    {
        var time = unixMinute * 60;
        var batch = db.CreateBatch();
        var writes = new List<Task>();
        foreach (var (id, bps) in points)
        {
            var key = Keyspace.MirrorBandwidthMinutes(id);
            writes.Add(batch.ListRightPushAsync(key, Point(time, bps)));
            writes.Add(batch.ListTrimAsync(key, -MinutePoints, -1));
            writes.Add(batch.KeyExpireAsync(key, Keyspace.MirrorBandwidthMinutesRetention));
        }
        batch.Execute();
        await Task.WhenAll(writes);
        if (unixMinute % 60 != 0)
            return;
        var hourEnd = time;
        var reads = points.Select(p => (p.Id, Task: db.ListRangeAsync(Keyspace.MirrorBandwidthMinutes(p.Id), -61, -1))).ToArray();
        var roll = db.CreateBatch();
        writes.Clear();
        foreach (var (id, read) in reads)
        {
            var hour = Parse(await read).Where(p => p.Time > hourEnd - 3600 && p.Time <= hourEnd).ToArray();
            if (hour.Length == 0)
                continue;
            var key = Keyspace.MirrorBandwidthHours(id);
            writes.Add(roll.ListRightPushAsync(key, Point(hourEnd, hour.Average(p => p.Bps))));
            writes.Add(roll.ListTrimAsync(key, -HourPoints, -1));
            writes.Add(roll.KeyExpireAsync(key, Keyspace.MirrorBandwidthHoursRetention));
        }
        roll.Execute();
        await Task.WhenAll(writes);
    }

    /// <summary>Reads a mirror's minute (24 h) or hour (90 days) history, oldest first.</summary>
    public static async Task<HistoryPoint[]> ReadAsync(IDatabaseAsync db, string id, bool hours)
    {
        var key = hours ? Keyspace.MirrorBandwidthHours(id) : Keyspace.MirrorBandwidthMinutes(id);
        return Parse(await db.ListRangeAsync(key, 0, -1));
    }

    private static string Point(long time, double bps) =>
        string.Create(CultureInfo.InvariantCulture, $"{time}:{Math.Round(bps)}");

    private static HistoryPoint[] Parse(RedisValue[] values)
    {
        var list = new List<HistoryPoint>(values.Length);
        foreach (var v in values)
        {
            var s = v.ToString();
            var colon = s.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && long.TryParse(s.AsSpan(0, colon), NumberStyles.Integer, CultureInfo.InvariantCulture, out var t)
                && double.TryParse(s.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var bps))
                list.Add(new HistoryPoint(t, bps));
        }
        return [.. list];
    }
}
