using System.Globalization;
using Downloads.Contracts.Mirrors;
using StackExchange.Redis;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Contracts.Redis;

/// <summary>
/// Reads and writes mirror records in the <see cref="Keyspace"/>. Every method does one round trip
/// (a pipelined batch) whatever the number of keys, so it stays cheap with thousands of mirrors.
/// </summary>
public static class MirrorStore
{
    /// <summary>Loads every mirror listed in <see cref="Keyspace.Mirrors"/>, sorted by id.</summary>
    public static async Task<IReadOnlyList<MirrorRecord>> LoadAllAsync(IDatabaseAsync db, DateTimeOffset now)
    {
        var ids = await db.SetMembersAsync(Keyspace.Mirrors).ConfigureAwait(false);
        var sorted = ids.Select(v => v.ToString()).Where(MirrorIds.IsValid).Order(StringComparer.Ordinal).ToArray();
        if (sorted.Length == 0)
            return [];
        var batch = ((IDatabase)db).CreateBatch();
        var pending = new (Task<HashEntry[]> Config, Task<HashEntry[]> Info, Task<HashEntry[]> State,
            Task<bool> Alive, Task<RedisValue> Month, Task<HashEntry[]> Health)[sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            var id = sorted[i];
            pending[i] = (batch.HashGetAllAsync(MirrorConfig(id)), batch.HashGetAllAsync(MirrorInfo(id)),
                batch.HashGetAllAsync(MirrorState(id)), batch.KeyExistsAsync(MirrorAlive(id)),
                batch.StringGetAsync(MirrorMonthBytes(id, now)), batch.HashGetAllAsync(MirrorHealth(id)));
        }
        batch.Execute();
        var result = new MirrorRecord[sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            var p = pending[i];
            await Task.WhenAll(p.Config, p.Info, p.State, p.Alive, p.Month, p.Health).ConfigureAwait(false);
            result[i] = Merge(sorted[i], p.Config.Result, p.Info.Result, p.State.Result, p.Alive.Result,
                p.Month.Result, p.Health.Result);
        }
        return result;
    }

    /// <summary>Builds a record from the raw hashes; missing fields take their defaults.</summary>
    public static MirrorRecord Merge(string id, HashEntry[] config, HashEntry[] info, HashEntry[] state,
        bool alive, RedisValue monthBytes, HashEntry[] health)
    {
        var c = config.ToStringDictionary();
        var n = info.ToStringDictionary();
        var s = state.ToStringDictionary();
        var h = health.ToStringDictionary();
        var capacity = Num(c, ConfigFields.CapacityMbps, 0);
        var quota = (long)Num(c, ConfigFields.QuotaBytes, -1);
        return new MirrorRecord
        {
            Id = id,
            Name = Str(n, InfoFields.Name, id),
            HttpUrl = Str(n, InfoFields.HttpUrl, "").TrimEnd('/'),
            HttpsUrl = Str(n, InfoFields.HttpsUrl, "").TrimEnd('/'),
            Sets = Str(n, InfoFields.Sets, "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Latitude = Num(n, InfoFields.Latitude, double.NaN),
            Longitude = Num(n, InfoFields.Longitude, double.NaN),
            Country = Str(n, InfoFields.Country, "").ToUpperInvariant(),
            Continent = Str(n, InfoFields.Continent, "").ToUpperInvariant(),
            Asn = (long)Num(n, InfoFields.Asn, 0),
            Scope = Str(n, InfoFields.Scope, "") switch
            {
                "country" => MirrorScope.Country,
                "continent" => MirrorScope.Continent,
                _ => MirrorScope.World,
            },
            Status = Str(c, ConfigFields.Status, "pending") == "approved" ? MirrorStatus.Approved : MirrorStatus.Pending,
            Enabled = Str(c, ConfigFields.Enabled, "1") != "0",
            Draining = Str(c, ConfigFields.Draining, "0") == "1",
            CapacityMbps = capacity > 0 ? capacity : Num(n, InfoFields.CapacityMbps, 0),
            Weight = Num(c, ConfigFields.Weight, 100),
            QuotaBytes = quota >= 0 ? quota : (long)Num(n, InfoFields.QuotaBytes, 0),
            Alive = alive,
            Serial = (long)Num(s, StateFields.Serial, 0),
            RateBps = Num(s, StateFields.RateBps, 0),
            BytesServed = (long)Num(s, StateFields.BytesServed, 0),
            Requests = (long)Num(s, StateFields.Requests, 0),
            Connections = (long)Num(s, StateFields.Connections, 0),
            LastError = Str(s, StateFields.LastError, ""),
            MonthBytes = monthBytes.TryParse(out long month) ? month : 0,
            Healthy = Str(h, HealthFields.Ok, "1") != "0",
            HealthReason = Str(h, HealthFields.Reason, ""),
        };
    }

    /// <summary>Adds a mirror id to the table (ops or enrollment).</summary>
    public static Task AddAsync(IDatabaseAsync db, string id) => db.SetAddAsync(Keyspace.Mirrors, id);

    /// <summary>Writes what a mirror declares about itself.</summary>
    public static Task WriteInfoAsync(IDatabaseAsync db, string id, IEnumerable<KeyValuePair<string, string>> fields) =>
        db.HashSetAsync(MirrorInfo(id), fields.Select(f => new HashEntry(f.Key, f.Value)).ToArray());

    /// <summary>Sets ops-owned configuration fields and tells redirectors the table changed.</summary>
    public static async Task SetConfigAsync(IDatabaseAsync db, string id, params (string Field, string Value)[] fields)
    {
        await db.HashSetAsync(MirrorConfig(id), fields.Select(f => new HashEntry(f.Field, f.Value)).ToArray()).ConfigureAwait(false);
        await db.PublishAsync(MirrorsChanged, id).ConfigureAwait(false);
    }

    /// <summary>
    /// A mirror's periodic report in one round trip: its state hash, its heartbeat (expires after
    /// <paramref name="heartbeatTtl"/>), and bytes added to this month's transfer counter.
    /// </summary>
    public static async Task ReportAsync(IDatabase db, string id, IReadOnlyList<KeyValuePair<string, string>> state,
        TimeSpan heartbeatTtl, long monthBytesDelta, DateTimeOffset now)
    {
        var batch = db.CreateTransaction();
        var month = MirrorMonthBytes(id, now);
        _ = batch.HashSetAsync(MirrorState(id), state.Select(f => new HashEntry(f.Key, f.Value)).ToArray());
        _ = batch.StringSetAsync(MirrorAlive(id), now.ToUnixTimeSeconds(), heartbeatTtl);
        _ = batch.StringIncrementAsync(month, monthBytesDelta);
        // Kept for two months so ops can compare with last month, then gone: no counter grows forever.
        _ = batch.KeyExpireAsync(month, TimeSpan.FromDays(62));
        await batch.ExecuteAsync().ConfigureAwait(false);
    }

    private static string Str(Dictionary<string, string> d, string key, string fallback) =>
        d.TryGetValue(key, out var v) ? v : fallback;

    private static double Num(Dictionary<string, string> d, string key, double fallback) =>
        d.TryGetValue(key, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : fallback;
}
