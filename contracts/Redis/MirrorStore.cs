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
/// Two kinds of read. <see cref="LoadAsync"/> reads everything about a mirror (6 commands: ops config,
/// its approved record, its declared capacity and quota, and the live part below; known fields only); <see cref="RefreshLiveAsync"/> reads only what changes between
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
        [StateFields.Serial, StateFields.RateBps, StateFields.BytesServed, StateFields.Requests, StateFields.Connections, StateFields.LastError,
         StateFields.Staged];

    /// <summary>Longest <see cref="StateFields.Staged"/> value kept (<see cref="StateFields.MaxStagedIds"/> ids and commas).</summary>
    private const int MaxStagedLength = 4096;

    private static readonly RedisValue[] LiveHealthFields = [HealthFields.Ok, HealthFields.Reason];

    // Field order is the order of the HMGET replies parsed in FromStatic.
    private static readonly RedisValue[] StaticConfigFields =
        [ConfigFields.Status, ConfigFields.Enabled, ConfigFields.Draining, ConfigFields.CapacityMbps, ConfigFields.Weight, ConfigFields.QuotaBytes,
         ConfigFields.PublicKey, ConfigFields.BillingDay, ConfigFields.BurstPercent];

    private static readonly RedisValue[] StaticApprovedFields = [.. MirrorInfoValidation.ApprovedFields.Select(f => (RedisValue)f)];

    // Of the mirror's own info only what limits itself: its declared capacity and quota.
    private static readonly RedisValue[] StaticInfoFields = [InfoFields.CapacityMbps, InfoFields.QuotaBytes];

    /// <summary>
    /// Reads the given fields of a hash with <c>HMGET</c>: the known fields only, each value longer than
    /// <see cref="MirrorInfoValidation.MaxValueLength"/> left out (as if absent), whatever else the hash holds.
    /// </summary>
    public static async Task<Dictionary<string, string>> ReadFieldsAsync(IDatabaseAsync db, RedisKey key, IReadOnlyList<string> fields)
    {
        var values = await db.HashGetAsync(key, fields.Select(f => (RedisValue)f).ToArray()).ConfigureAwait(false);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < fields.Count; i++)
        {
            if (Capped(values[i]) is { } v)
                result[fields[i]] = v;
        }
        return result;
    }

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

    /// <summary>
    /// Loads everything about the given mirrors (6 commands each, pipelined in two batches per chunk: the static hashes, then the live keys, whose usage counter is named by the billing period the config gives), in the order given. The static
    /// hashes are read with <c>HMGET</c> of the known fields only, so extra fields a mirror adds to its own hash
    /// never leave Redis, and a value longer than <see cref="MirrorInfoValidation.MaxValueLength"/> is dropped.
    /// </summary>
    public static async Task<MirrorRecord[]> LoadAsync(IDatabaseAsync db, IReadOnlyList<string> ids, DateTimeOffset now)
    {
        var result = new MirrorRecord[ids.Count];
        var pending = new (Task<RedisValue[]> Config, Task<RedisValue[]> Approved, Task<RedisValue[]> Info)[Math.Min(ids.Count, Chunk)];
        for (var start = 0; start < ids.Count; start += Chunk)
        {
            var count = Math.Min(Chunk, ids.Count - start);
            var batch = ((IDatabase)db).CreateBatch();
            for (var i = 0; i < count; i++)
            {
                var id = ids[start + i];
                pending[i] = (batch.HashGetAsync(MirrorConfig(id), StaticConfigFields), batch.HashGetAsync(MirrorApproved(id), StaticApprovedFields),
                    batch.HashGetAsync(MirrorInfo(id), StaticInfoFields));
            }
            batch.Execute();
            var records = new MirrorRecord[count];
            for (var i = 0; i < count; i++)
            {
                var p = pending[i];
                records[i] = FromStatic(ids[start + i], await p.Config.ConfigureAwait(false), await p.Approved.ConfigureAwait(false),
                    await p.Info.ConfigureAwait(false));
            }
            // The usage counter is named by the billing period, which the config just read gives: a second batch.
            var live = ((IDatabase)db).CreateBatch();
            var livePending = new LivePending[count];
            for (var i = 0; i < count; i++)
                livePending[i] = LivePending.Queue(live, records[i].Id, records[i].BillingDay, now);
            live.Execute();
            for (var i = 0; i < count; i++)
                result[start + i] = ApplyLive(records[i], await livePending[i].ReadAsync(now).ConfigureAwait(false), fresh: true);
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
                pending[i] = LivePending.Queue(batch, mirrors[start + i].Id, mirrors[start + i].BillingDay, now);
            batch.Execute();
            for (var i = 0; i < count; i++)
                result[start + i] = ApplyLive(mirrors[start + i], await pending[i].ReadAsync(now).ConfigureAwait(false), fresh: false);
        }
        return result;
    }

    /// <summary>
    /// Builds a record from the raw hashes as the redirectors do (missing fields take their defaults): the
    /// mirror's own <c>status</c> command reads its keys with its own user and merges them here. Without
    /// <paramref name="approved"/> (a user that may not read it) the mirror's own info stands in for it.
    /// </summary>
    public static MirrorRecord Merge(string id, HashEntry[] config, HashEntry[] info, HashEntry[] state,
        bool alive, RedisValue monthBytes, HashEntry[] health, HashEntry[]? approved = null)
    {
        var live = new LiveValues(
            [Field(state, StateFields.Serial), Field(state, StateFields.RateBps), Field(state, StateFields.BytesServed),
             Field(state, StateFields.Requests), Field(state, StateFields.Connections), Field(state, StateFields.LastError),
             Field(state, StateFields.Staged)],
            alive, monthBytes, [Field(health, HealthFields.Ok), Field(health, HealthFields.Reason)]);
        return ApplyLive(FromStatic(id, Fields(config, StaticConfigFields), Fields(approved ?? info, StaticApprovedFields),
            Fields(info, StaticInfoFields)), live, fresh: true);
    }

    private static RedisValue[] Fields(HashEntry[] hash, RedisValue[] names) => [.. names.Select(n => Field(hash, n!))];

    /// <summary>
    /// The ops config, the approved record and the mirror's declared capacity and quota: what changes only on a
    /// pub/sub message or the slow poll. Each approved field is checked again (<see cref="MirrorInfoValidation"/>):
    /// one that fails is left out and named in <see cref="MirrorRecord.RecordProblem"/>, so no value that reached
    /// Redis by another way than approval can fail a redirect.
    /// </summary>
    private static MirrorRecord FromStatic(string id, RedisValue[] c, RedisValue[] a, RedisValue[] n)
    {
        var approved = new string?[a.Length];
        List<string>? problems = null;
        var any = false;
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i].IsNull)
                continue;
            any = true;
            var field = MirrorInfoValidation.ApprovedFields[i];
            var text = Capped(a[i]);
            if (text is null)
            {
                (problems ??= []).Add($"{field} (longer than {MirrorInfoValidation.MaxValueLength})");
                continue;
            }
            text = text.Trim();
            if (text.Length == 0)
                continue;
            if (MirrorInfoValidation.CheckField(field, text, out var clean) is { } error)
            {
                (problems ??= []).Add(error);
                // Bad set names go, the good ones stay; with none left the mirror carries nothing rather than
                // everything ("-" is no set: a manifest path never starts with it).
                if (field == InfoFields.Sets)
                    approved[i] = string.Join(',', text.Split(',', StringSplitOptions.TrimEntries).Where(n => MirrorInfoValidation.IsSetName(n))) is { Length: > 0 } sets ? sets : "-";
            }
            else
            {
                approved[i] = clean;
            }
        }
        var status = Text(c[0]) == "approved" ? MirrorStatus.Approved : MirrorStatus.Pending;
        var problem = !any
            ? status == MirrorStatus.Approved ? "no approved record: approve it again to copy its requested info" : ""
            : problems is null ? "" : "left out of the approved record: " + string.Join("; ", problems);
        string A(string field) => approved[IndexOfApproved(field)] ?? "";
        var capacity = Num(c[3], 0);
        var quota = (long)Num(c[5], -1);
        var lat = Num(A(InfoFields.Latitude), double.NaN);
        var lon = Num(A(InfoFields.Longitude), double.NaN);
        if (double.IsNaN(lat) || double.IsNaN(lon))
            (lat, lon) = (double.NaN, double.NaN);
        return new MirrorRecord
        {
            Id = id,
            Name = A(InfoFields.Name) is { Length: > 0 } name ? name : id,
            HttpUrl = A(InfoFields.HttpUrl),
            HttpsUrl = A(InfoFields.HttpsUrl),
            Sets = A(InfoFields.Sets).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Latitude = lat,
            Longitude = lon,
            Country = A(InfoFields.Country),
            Continent = A(InfoFields.Continent),
            Asn = (long)Num(A(InfoFields.Asn), 0),
            Scope = A(InfoFields.Scope) switch
            {
                "country" => MirrorScope.Country,
                "continent" => MirrorScope.Continent,
                _ => MirrorScope.World,
            },
            Status = status,
            Enabled = Text(c[1]) != "0",
            Draining = Text(c[2]) == "1",
            CapacityMbps = capacity > 0 ? capacity : Math.Max(0, Num(n[0], 0)),
            Weight = Num(c[4], 100),
            QuotaBytes = quota >= 0 ? quota : Math.Max(0, (long)Num(n[1], 0)),
            PublicKey = Text(c[6]),
            BillingDay = ParseBillingDay(c[7]),
            BurstPercent = Num(c[8], -1) is var burst && burst is >= 0 and <= 100 ? burst : -1,
            RecordProblem = problem,
        };
    }

    private static int IndexOfApproved(string field)
    {
        for (var i = 0; i < MirrorInfoValidation.ApprovedFields.Count; i++)
        {
            if (MirrorInfoValidation.ApprovedFields[i] == field)
                return i;
        }
        throw new ArgumentException($"'{field}' is not an approved-record field", nameof(field));
    }

    /// <summary>The value as text, or null when absent or longer than <see cref="MirrorInfoValidation.MaxValueLength"/> bytes.</summary>
    private static string? Capped(RedisValue v) => v.IsNull || v.Length() > MirrorInfoValidation.MaxValueLength ? null : v.ToString();

    private static string Text(RedisValue v) => Capped(v) ?? "";

    private static double Num(RedisValue v, double fallback) =>
        Capped(v) is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x : fallback;

    private static double Num(string text, double fallback) =>
        text.Length > 0 && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x : fallback;

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
        // The mirror writes its own error text: one longer than the cap is not kept (nor compared byte by byte).
        var error = v.State[5].Length() > MirrorInfoValidation.MaxValueLength ? RedisValue.Null : v.State[5];
        var sameError = IsText(error, r.LastError);
        var sameReason = IsText(v.Health[1], r.HealthReason);
        // The staged ids (usually none): what a redirector needs at a release (Selection/Eligibility.HoldsRelease).
        var staged = v.State[6].Length() > MaxStagedLength ? RedisValue.Null : v.State[6];
        var sameStaged = IsText(staged, r.Staged);
        var same = !fresh && serial == r.Serial && rate.Equals(r.RateBps) && bytes == r.BytesServed && requests == r.Requests
            && connections == r.Connections && alive == r.Alive && month == r.MonthBytes && healthy == r.Healthy && sameError && sameReason
            && sameStaged;
        if (same)
            return r;
        return r with
        {
            Serial = serial,
            RateBps = rate,
            BytesServed = bytes,
            Requests = requests,
            Connections = connections,
            LastError = sameError ? r.LastError : (string?)error ?? "",
            Alive = alive,
            MonthBytes = month,
            Healthy = healthy,
            HealthReason = sameReason ? r.HealthReason : (string?)v.Health[1] ?? "",
            Staged = sameStaged ? r.Staged : (string?)staged ?? "",
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

    /// <summary>Adds a mirror id to the table (ops or enrollment).</summary>
    public static Task AddAsync(IDatabaseAsync db, string id) => db.SetAddAsync(Keyspace.Mirrors, id);

    /// <summary>Writes what a mirror declares about itself.</summary>
    public static Task WriteInfoAsync(IDatabaseAsync db, string id, IEnumerable<KeyValuePair<string, string>> fields) =>
        db.HashSetAsync(MirrorInfo(id), fields.Select(f => new HashEntry(f.Key, f.Value)).ToArray());

    /// <summary>
    /// Replaces the approved record (ops only, on approval) with <paramref name="fields"/>, already validated, and
    /// tells redirectors the table changed. One transaction: a redirector never reads half of it.
    /// </summary>
    public static async Task WriteApprovedAsync(IDatabase db, string id, IReadOnlyDictionary<string, string> fields)
    {
        var tx = db.CreateTransaction();
        _ = tx.KeyDeleteAsync(MirrorApproved(id));
        _ = tx.HashSetAsync(MirrorApproved(id), fields.Select(f => new HashEntry(f.Key, f.Value)).ToArray());
        _ = tx.PublishAsync(MirrorsChanged, id);
        await tx.ExecuteAsync().ConfigureAwait(false);
    }

    /// <summary>Sets ops-owned configuration fields and tells redirectors the table changed.</summary>
    public static async Task SetConfigAsync(IDatabaseAsync db, string id, params (string Field, string Value)[] fields)
    {
        await db.HashSetAsync(MirrorConfig(id), fields.Select(f => new HashEntry(f.Field, f.Value)).ToArray()).ConfigureAwait(false);
        await db.PublishAsync(MirrorsChanged, id).ConfigureAwait(false);
    }

    /// <summary>
    /// A mirror's periodic report in one round trip: its state hash, its heartbeat (the report's Unix time,
    /// expires after <paramref name="heartbeatTtl"/>), and, unless <paramref name="countMonth"/> is false, bytes
    /// added to the usage counter of the calendar month (billing day 1; a key the mirror's user is granted month by month).
    /// </summary>
    public static Task ReportAsync(IDatabase db, string id, IReadOnlyList<KeyValuePair<string, string>> state,
        TimeSpan heartbeatTtl, long monthBytesDelta, DateTimeOffset now, bool countMonth = true) =>
        ReportAsync(db, id, state, heartbeatTtl, monthBytesDelta, now, QuotaPeriod.DefaultBillingDay, countMonth);

    /// <summary>
    /// As <see cref="ReportAsync(IDatabase, string, IReadOnlyList{KeyValuePair{string, string}}, TimeSpan, long, DateTimeOffset, bool)"/>,
    /// counting the bytes in the usage counter of the billing period for <paramref name="billingDay"/> (<see cref="MirrorPeriodBytes(string, DateTimeOffset, int)"/>).
    /// </summary>
    public static async Task ReportAsync(IDatabase db, string id, IReadOnlyList<KeyValuePair<string, string>> state,
        TimeSpan heartbeatTtl, long monthBytesDelta, DateTimeOffset now, int billingDay, bool countMonth = true)
    {
        var batch = db.CreateTransaction();
        var month = MirrorPeriodBytes(id, now, billingDay);
        _ = batch.HashSetAsync(MirrorState(id), state.Select(f => new HashEntry(f.Key, f.Value)).ToArray());
        _ = batch.StringSetAsync(MirrorAlive(id), now.ToUnixTimeSeconds(), heartbeatTtl);
        if (countMonth)
        {
            _ = batch.StringIncrementAsync(month, monthBytesDelta);
            _ = batch.KeyExpireAsync(month, MirrorMonthBytesRetention);
        }
        await batch.ExecuteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The billing day in a mirror's ops-owned config (<see cref="ConfigFields.BillingDay"/>), 1 when absent or
    /// not a day of 1–28: what the mirror reads (its user may read its config) to name its usage counter.
    /// </summary>
    public static async Task<int> ReadBillingDayAsync(IDatabaseAsync db, string id) =>
        ParseBillingDay(await db.HashGetAsync(MirrorConfig(id), ConfigFields.BillingDay).ConfigureAwait(false));

    /// <summary>A billing day as stored, 1 when absent or not a whole day of 1–28.</summary>
    public static int ParseBillingDay(RedisValue v) =>
        Capped(v) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var day) && QuotaPeriod.IsBillingDay(day)
            ? day : QuotaPeriod.DefaultBillingDay;

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
        public static LivePending Queue(IBatch batch, string id, int billingDay, DateTimeOffset now)
        {
            var keys = LiveKeys.Of(id, billingDay, now);
            return new(batch.HashGetAsync(keys.State, LiveStateFields),
                // Heartbeat and period counter of one mirror share its hash tag: one single-slot MGET.
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
    /// One mirror's live-read keys, built once per mirror and billing period instead of four key strings and an
    /// array per mirror per round (40,000 strings every 2 s with 10,000 mirrors). Held weakly by the id
    /// string the records share, so a removed mirror's keys go with its last record.
    /// </summary>
    private sealed class LiveKeys
    {
        private static readonly ConditionalWeakTable<string, LiveKeys> KeysById = new();

        private LiveKeys(string id, QuotaPeriod period)
        {
            Period = period;
            State = MirrorState(id);
            Health = MirrorHealth(id);
            AliveAndMonth = [MirrorAlive(id), MirrorPeriodBytes(id, period)];
        }

        public QuotaPeriod Period { get; }
        public RedisKey State { get; }
        public RedisKey Health { get; }
        /// <summary>Shared by every read of this mirror this period: never modified.</summary>
        public RedisKey[] AliveAndMonth { get; }

        public static LiveKeys Of(string id, int billingDay, DateTimeOffset now)
        {
            if (KeysById.TryGetValue(id, out var keys) && keys.Period.Contains(now) && keys.Period.Start.Day == billingDay)
                return keys;
            keys = new LiveKeys(id, QuotaPeriod.At(now, billingDay));
            KeysById.AddOrUpdate(id, keys);
            return keys;
        }
    }
}
