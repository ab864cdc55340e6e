using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Downloads.Contracts.Mirrors;
using StackExchange.Redis;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Contracts.Redis;

/// <summary>
/// Reads and writes mirror records in the <see cref="Keyspace"/>. Reads of many mirrors are pipelined
/// (one round trip per <see cref="Chunk"/> mirrors), so they stay cheap with thousands of mirrors.
/// </summary>
/// <remarks>
/// Two kinds of read. <see cref="LoadAsync"/> reads everything about a mirror (5 commands: ops config,
/// its info, and the live part below); <see cref="RefreshLiveAsync"/> reads only what changes between
/// two reports (3 commands: <c>HMGET</c> of the state fields, <c>MGET</c> of heartbeat + month counter,
/// <c>HMGET</c> of the health verdict) and returns the previous record itself when nothing changed, so a
/// redirector polling thousands of mirrors every few seconds neither loads Redis with the static hashes
/// nor makes garbage for mirrors that are as they were. Every command names one mirror's keys, which
/// share the <c>{id}</c> hash tag, so each is single-slot under Redis Cluster.
/// </remarks>
public static class MirrorStore
{
    /// <summary>
    /// Mirrors per pipelined batch. Sent whole, a 10,000-mirror read keeps 30,000–50,000 commands with
    /// their tasks and replies in flight at once: on a busy host it can outlast the client's timeout, and
    /// everything in flight survives the young-generation collections of that time into gen 2, where it
    /// piles up as garbage until a full collection. Batches of 500 cost 20 round trips of ~1 ms instead.
    /// </summary>
    public const int Chunk = 500;

    // Field order is the order of the HMGET replies parsed in ApplyLive.
    private static readonly RedisValue[] LiveStateFields =
        [StateFields.Serial, StateFields.RateBps, StateFields.BytesServed, StateFields.Requests, StateFields.Connections, StateFields.LastError];

    private static readonly RedisValue[] LiveHealthFields = [HealthFields.Ok, HealthFields.Reason];

    /// <summary>Loads every mirror listed in <see cref="Keyspace.Mirrors"/>, sorted by id.</summary>
    public static async Task<IReadOnlyList<MirrorRecord>> LoadAllAsync(IDatabaseAsync db, DateTimeOffset now) =>
        await LoadAsync(db, await LoadIdsAsync(db).ConfigureAwait(false), now).ConfigureAwait(false);

    /// <summary>The valid ids in <see cref="Keyspace.Mirrors"/>, sorted (ordinal).</summary>
    public static async Task<string[]> LoadIdsAsync(IDatabaseAsync db)
    {
        var ids = await db.SetMembersAsync(Keyspace.Mirrors).ConfigureAwait(false);
        return ids.Select(v => v.ToString()).Where(MirrorIds.IsValid).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Number of entries in <see cref="Keyspace.Mirrors"/> (<c>SCARD</c>): a cheap check that nobody joined or left.</summary>
    public static Task<long> CountAsync(IDatabaseAsync db) => db.SetLengthAsync(Keyspace.Mirrors);

    /// <summary>Loads everything about the given mirrors (5 commands each, pipelined), in the order given.</summary>
    public static async Task<MirrorRecord[]> LoadAsync(IDatabaseAsync db, IReadOnlyList<string> ids, DateTimeOffset now)
    {
        var result = new MirrorRecord[ids.Count];
        var pending = new (Task<HashEntry[]> Config, Task<HashEntry[]> Info, LivePending Live)[Math.Min(ids.Count, Chunk)];
        for (var start = 0; start < ids.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, ids.Count - start);
            var batch = ((IDatabase)db).CreateBatch();
            for (var i = 0; i < count; i++)
            {
                var id = ids[start + i];
                pending[i] = (batch.HashGetAllAsync(MirrorConfig(id)), batch.HashGetAllAsync(MirrorInfo(id)), LivePending.Queue(batch, id, now));
            }
            batch.Execute();
            for (var i = 0; i < count; i++)
            {
                var p = pending[i];
                var record = FromStatic(ids[start + i], await p.Config.ConfigureAwait(false), await p.Info.ConfigureAwait(false));
                result[start + i] = ApplyLive(record, await p.Live.ReadAsync(now).ConfigureAwait(false), fresh: true);
            }
        }
        return result;
    }

    /// <summary>
    /// Re-reads the live part (state, heartbeat, month counter, health) of <paramref name="mirrors"/>: 3
    /// pipelined commands per mirror. Returns a new array in the same order; an element is the very same
    /// instance as before when none of its live fields changed.
    /// </summary>
    public static async Task<MirrorRecord[]> RefreshLiveAsync(IDatabaseAsync db, IReadOnlyList<MirrorRecord> mirrors, DateTimeOffset now)
    {
        var result = new MirrorRecord[mirrors.Count];
        var pending = new LivePending[Math.Min(mirrors.Count, Chunk)];
        for (var start = 0; start < mirrors.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, mirrors.Count - start);
            var batch = ((IDatabase)db).CreateBatch();
            for (var i = 0; i < count; i++)
                pending[i] = LivePending.Queue(batch, mirrors[start + i].Id, now);
            batch.Execute();
            for (var i = 0; i < count; i++)
                result[start + i] = ApplyLive(mirrors[start + i], await pending[i].ReadAsync(now).ConfigureAwait(false), fresh: false);
        }
        return result;
    }

    /// <summary>
    /// Builds a record from the raw hashes as the redirectors do (missing fields take their defaults): the
    /// mirror's own <c>status</c> command reads its keys with its own user and merges them here.
    /// </summary>
    public static MirrorRecord Merge(string id, HashEntry[] config, HashEntry[] info, HashEntry[] state,
        bool alive, RedisValue monthBytes, HashEntry[] health)
    {
        var live = new LiveValues(
            [Field(state, StateFields.Serial), Field(state, StateFields.RateBps), Field(state, StateFields.BytesServed),
             Field(state, StateFields.Requests), Field(state, StateFields.Connections), Field(state, StateFields.LastError)],
            alive, monthBytes, [Field(health, HealthFields.Ok), Field(health, HealthFields.Reason)]);
        return ApplyLive(FromStatic(id, config, info), live, fresh: true);
    }

    /// <summary>The ops config and the mirror's declared info: what changes only on a pub/sub message or the slow poll.</summary>
    private static MirrorRecord FromStatic(string id, HashEntry[] c, HashEntry[] n)
    {
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
            PublicKey = Str(c, ConfigFields.PublicKey, ""),
        };
    }

    /// <summary>
    /// The record with its live fields from <paramref name="v"/>; <paramref name="r"/> itself when they are
    /// unchanged and <paramref name="fresh"/> is false. Numbers are parsed from the reply bytes; a string
    /// is only made for a non-empty error or health reason that differs from the current one.
    /// </summary>
    private static MirrorRecord ApplyLive(MirrorRecord r, LiveValues v, bool fresh)
    {
        var serial = Long(v.State[0]);
        var rate = Double(v.State[1]);
        var bytes = Long(v.State[2]);
        var requests = Long(v.State[3]);
        var connections = Long(v.State[4]);
        var alive = v.Alive;
        var month = Long(v.Month);
        var healthy = v.Health[0].IsNull || !IsText(v.Health[0], "0");
        var sameError = IsText(v.State[5], r.LastError);
        var sameReason = IsText(v.Health[1], r.HealthReason);
        var same = !fresh && serial == r.Serial && rate.Equals(r.RateBps) && bytes == r.BytesServed && requests == r.Requests
            && connections == r.Connections && alive == r.Alive && month == r.MonthBytes && healthy == r.Healthy && sameError && sameReason;
        if (same)
            return r;
        return r with
        {
            Serial = serial,
            RateBps = rate,
            BytesServed = bytes,
            Requests = requests,
            Connections = connections,
            LastError = sameError ? r.LastError : (string?)v.State[5] ?? "",
            Alive = alive,
            MonthBytes = month,
            Healthy = healthy,
            HealthReason = sameReason ? r.HealthReason : (string?)v.Health[1] ?? "",
        };
    }

    private static long Long(RedisValue v) =>
        v.IsNull ? 0 : v.TryParse(out long x) ? x : v.TryParse(out double d) && double.IsFinite(d) ? (long)d : 0;

    private static double Double(RedisValue v) => !v.IsNull && v.TryParse(out double x) ? x : 0;

    /// <summary>Whether a reply equals <paramref name="text"/> (null counts as empty) without making a string of it.</summary>
    private static bool IsText(RedisValue v, string text)
    {
        if (v.IsNullOrEmpty)
            return text.Length == 0;
        var reply = (ReadOnlyMemory<byte>)v;
        var length = Encoding.UTF8.GetByteCount(text);
        if (reply.Length != length)
            return false;
        var buffer = length <= 256 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(text, buffer);
        return buffer.SequenceEqual(reply.Span);
    }

    private static RedisValue Field(HashEntry[] hash, string name)
    {
        foreach (var e in hash)
        {
            if (e.Name == name)
                return e.Value;
        }
        return RedisValue.Null;
    }

    private static string Str(HashEntry[] hash, string key, string fallback)
    {
        var v = Field(hash, key);
        return v.IsNull ? fallback : v.ToString();
    }

    private static double Num(HashEntry[] hash, string key, double fallback)
    {
        var v = Field(hash, key);
        return !v.IsNull && v.TryParse(out double x) ? x : fallback;
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
    /// A mirror's periodic report in one round trip: its state hash, its heartbeat (the report's Unix time,
    /// expires after <paramref name="heartbeatTtl"/>), and, unless <paramref name="countMonth"/> is false, bytes
    /// added to this month's transfer counter (a key the mirror's user is granted month by month).
    /// </summary>
    public static async Task ReportAsync(IDatabase db, string id, IReadOnlyList<KeyValuePair<string, string>> state,
        TimeSpan heartbeatTtl, long monthBytesDelta, DateTimeOffset now, bool countMonth = true)
    {
        var batch = db.CreateTransaction();
        var month = MirrorMonthBytes(id, now);
        _ = batch.HashSetAsync(MirrorState(id), state.Select(f => new HashEntry(f.Key, f.Value)).ToArray());
        _ = batch.StringSetAsync(MirrorAlive(id), now.ToUnixTimeSeconds(), heartbeatTtl);
        if (countMonth)
        {
            _ = batch.StringIncrementAsync(month, monthBytesDelta);
            _ = batch.KeyExpireAsync(month, MirrorMonthBytesRetention);
        }
        await batch.ExecuteAsync().ConfigureAwait(false);
    }

    /// <summary>The replies of one mirror's live read.</summary>
    private readonly record struct LiveValues(RedisValue[] State, bool Alive, RedisValue Month, RedisValue[] Health);

    /// <summary>
    /// Whether a heartbeat counts: present, and its Unix time within <see cref="Keyspace.MirrorHeartbeatMaxAge"/>
    /// of <paramref name="now"/> either way. The key's expiry is the mirror's to set; this bound is not.
    /// </summary>
    public static bool IsHeartbeatFresh(RedisValue heartbeat, DateTimeOffset now)
    {
        if (heartbeat.IsNull || !heartbeat.TryParse(out long seconds))
            return false;
        var age = now.ToUnixTimeSeconds() - seconds;
        var max = (long)MirrorHeartbeatMaxAge.TotalSeconds;
        return age <= max && age >= -max;
    }

    /// <summary>One mirror's three queued live commands.</summary>
    private readonly record struct LivePending(Task<RedisValue[]> State, Task<RedisValue[]> AliveAndMonth, Task<RedisValue[]> Health)
    {
        public static LivePending Queue(IBatch batch, string id, DateTimeOffset now)
        {
            var keys = LiveKeys.Of(id, now);
            return new(batch.HashGetAsync(keys.State, LiveStateFields),
                // Heartbeat and month counter of one mirror share its hash tag: one single-slot MGET.
                batch.StringGetAsync(keys.AliveAndMonth),
                batch.HashGetAsync(keys.Health, LiveHealthFields));
        }

        public async Task<LiveValues> ReadAsync(DateTimeOffset now)
        {
            var state = await State.ConfigureAwait(false);
            var aliveAndMonth = await AliveAndMonth.ConfigureAwait(false);
            return new(state, IsHeartbeatFresh(aliveAndMonth[0], now), aliveAndMonth[1], await Health.ConfigureAwait(false));
        }
    }

    /// <summary>
    /// One mirror's live-read keys, built once per mirror and month instead of four key strings and an
    /// array per mirror per round (40,000 strings every 2 s with 10,000 mirrors). Held weakly by the id
    /// string the records share, so a removed mirror's keys go with its last record.
    /// </summary>
    private sealed class LiveKeys
    {
        private static readonly ConditionalWeakTable<string, LiveKeys> KeysById = new();

        private LiveKeys(string id, DateTimeOffset now)
        {
            Month = MonthOf(now);
            State = MirrorState(id);
            Health = MirrorHealth(id);
            AliveAndMonth = [MirrorAlive(id), MirrorMonthBytes(id, now)];
        }

        public int Month { get; }
        public RedisKey State { get; }
        public RedisKey Health { get; }
        /// <summary>Shared by every read of this mirror this month: never modified.</summary>
        public RedisKey[] AliveAndMonth { get; }

        public static LiveKeys Of(string id, DateTimeOffset now)
        {
            if (KeysById.TryGetValue(id, out var keys) && keys.Month == MonthOf(now))
                return keys;
            keys = new LiveKeys(id, now);
            KeysById.AddOrUpdate(id, keys);
            return keys;
        }

        private static int MonthOf(DateTimeOffset now) => (now.UtcDateTime.Year * 100) + now.UtcDateTime.Month;
    }
}
