using System.Globalization;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using StackExchange.Redis;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Mirror.Status;

/// <summary>
/// Reads one mirror's keys, and only its own, with the mirror's own Redis user: what ops decided, what the
/// mirror last reported, what the redirectors' health checks and bandwidth history say. Read-only: it
/// writes nothing and enrolls nothing. A key the user may not read (a user made by an older release) is
/// left out with a note instead of failing the whole report.
/// </summary>
internal static class StatusReader
{
    /// <summary>Reads the report for <paramref name="id"/> at <paramref name="now"/>.</summary>
    public static async Task<StatusReport> ReadAsync(IDatabaseAsync db, string id, DateTimeOffset now)
    {
        var notes = new List<string>();
        var config = await db.HashGetAllAsync(MirrorConfig(id));
        var info = await db.HashGetAllAsync(MirrorInfo(id));
        var state = await db.HashGetAllAsync(MirrorState(id));
        // As the redirectors judge it: present and recent (MirrorStore.IsHeartbeatFresh).
        var alive = MirrorStore.IsHeartbeatFresh(await db.StringGetAsync(MirrorAlive(id)), now);
        var billingDay = MirrorStore.ParseBillingDay(config.FirstOrDefault(e => e.Name == ConfigFields.BillingDay).Value);
        var month = await db.StringGetAsync(MirrorPeriodBytes(id, now, billingDay));
        var health = await OrNoteAsync(() => db.HashGetAllAsync(MirrorHealth(id)), "health checks", notes);
        var minutes = await OrNoteAsync(() => db.ListRangeAsync(MirrorBandwidthMinutes(id)), "bandwidth history", notes);

        // The same merge the redirectors use, so every figure means what it means to them.
        var record = MirrorStore.Merge(id, config, info, state, alive, month, health ?? []);
        var (hourMean, dayPeak) = History(minutes, now);
        return new StatusReport
        {
            Id = id,
            Name = record.Name,
            At = now,
            Approval = record.Status == MirrorStatus.Approved ? "approved" : "pending",
            Enabled = record.Enabled,
            Draining = record.Draining,
            Alive = record.Alive,
            LastReport = Time(Field(state, StateFields.Updated)),
            Serial = record.Serial,
            LastError = record.LastError,
            Health = health is null ? null : Health(health),
            RateBps = record.RateBps,
            CapacityMbps = record.CapacityMbps,
            Connections = record.Connections,
            Requests = record.Requests,
            BytesServed = record.BytesServed,
            LastHourMeanBps = hourMean,
            PeakDayBps = dayPeak,
            Quota = QuotaPace.At(now, record.MonthBytes, record.QuotaBytes, record.BillingDay),
            Notes = notes,
        };
    }

    private static async Task<T?> OrNoteAsync<T>(Func<Task<T>> read, string what, List<string> notes) where T : class
    {
        try
        {
            return await read();
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOPERM", StringComparison.Ordinal))
        {
            notes.Add($"{what}: not readable with this mirror's Redis user (made by an older release); ops' next 'approve' of the mirror grants it");
            return null;
        }
    }

    private static HealthView Health(HashEntry[] h) => new()
    {
        Checked = !Field(h, HealthFields.Checked).IsNull,
        Ok = Field(h, HealthFields.Ok) != "0",
        Reason = (string?)Field(h, HealthFields.Reason) ?? "",
        CheckedAt = Time(Field(h, HealthFields.Checked)),
        LatencyMs = Field(h, HealthFields.LatencyMs).TryParse(out double ms) ? ms : 0,
        Probe = (string?)Field(h, HealthFields.Probe) ?? "",
        LastFailure = Time(Field(h, HealthFields.LastFailure)),
    };

    /// <summary>Mean of the last hour's minutes and the peak minute of the last day (points <c>unixSeconds:bytesPerSecond</c>).</summary>
    private static (double? HourMean, double? DayPeak) History(RedisValue[]? points, DateTimeOffset now)
    {
        if (points is null || points.Length == 0)
            return (null, null);
        var nowSeconds = now.ToUnixTimeSeconds();
        double hourSum = 0, peak = 0;
        int hourCount = 0, dayCount = 0;
        foreach (var point in points)
        {
            var text = point.ToString();
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !long.TryParse(text.AsSpan(0, colon), CultureInfo.InvariantCulture, out var at)
                || !double.TryParse(text.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var bps))
                continue;
            var age = nowSeconds - at;
            if (age <= 86_400)
            {
                peak = Math.Max(peak, bps);
                dayCount++;
            }
            if (age <= 3_600)
            {
                hourSum += bps;
                hourCount++;
            }
        }
        return (hourCount > 0 ? hourSum / hourCount : null, dayCount > 0 ? peak : null);
    }

    private static DateTimeOffset? Time(RedisValue unixSeconds) =>
        unixSeconds.TryParse(out long s) && s > 0 ? DateTimeOffset.FromUnixTimeSeconds(s) : null;

    private static RedisValue Field(HashEntry[] hash, string name)
    {
        foreach (var e in hash)
        {
            if (e.Name == name)
                return e.Value;
        }
        return RedisValue.Null;
    }
}
