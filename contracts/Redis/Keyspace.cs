using Downloads.Contracts.Mirrors;
using StackExchange.Redis;

namespace Downloads.Contracts.Redis;

/// <summary>
/// Every Redis key and channel the network uses, in one place. Per-mirror keys carry the mirror id
/// as a hash tag (<c>{id}</c>) so that one mirror's keys share a Redis Cluster slot and a mirror's
/// ACL user can be limited to its own exact keys. Ownership (who writes) is noted per
/// key; docs/keyspace.md explains the whole layout.
/// </summary>
public static class Keyspace
{
    /// <summary>Prefix of every key.</summary>
    public const string Prefix = "dl:";

    /// <summary>SET of every mirror id (written by ops and enrollment; read by redirectors).</summary>
    public static readonly RedisKey Mirrors = "dl:mirrors";

    /// <summary>Pub/sub channel on which the origin announces a new manifest serial (payload: serial).</summary>
    public static readonly RedisChannel Announce = RedisChannel.Literal("dl:announce");

    /// <summary>Pub/sub channel on which ops announce a change to the mirror table (payload: mirror id).</summary>
    public static readonly RedisChannel MirrorsChanged = RedisChannel.Literal("dl:mirrors:changed");

    /// <summary>Pattern of all of a mirror's keys, its ops-owned config included (for ops tooling; the ACL grants exact keys, <see cref="MirrorWritableKeys(string, DateTimeOffset, int)"/>).</summary>
    public static string MirrorKeyPattern(string id) => $"dl:m:{{{id}}}:*";

    /// <summary>
    /// STRING owned by redirectors, <c>SET NX PX</c>: whoever sets it probes the mirror in that round
    /// (rounds are numbered from the wall clock, so every redirector agrees), so each mirror is probed
    /// once per round, not once per redirector. Value: the instance holding it; expires after two rounds.
    /// </summary>
    public static RedisKey MirrorHealthLease(string id, long round) => $"dl:h:{{{id}}}:lease:{round}";

    /// <summary>STRING owned by ops, with a TTL: a one-time enrollment token, stored as the lower-case hex SHA-256 of the token.</summary>
    public static RedisKey EnrollToken(string tokenSha256Hex) => $"dl:enroll:{tokenSha256Hex}";

    /// <summary>Name of a mirror's own Redis ACL user.</summary>
    public static string MirrorAclUser(string id) => $"dl-m-{id}";

    /// <summary>
    /// The exact keys a mirror's ACL user may read and write: its own info, state and heartbeat, and the usage
    /// counters of its previous, current and next billing period (<see cref="MirrorPeriodBytes(string, QuotaPeriod)"/>), so a report on
    /// either side of a period's end, or from a clock a little off, is granted. No pattern: a mirror cannot create
    /// any key outside this set. The set moves with the calendar, so ops re-grant it (<c>redirector mirrors
    /// sync-users</c>, also done by every approve and every change of the billing day); docs/keyspace.md.
    /// </summary>
    public static IReadOnlyList<string> MirrorWritableKeys(string id, DateTimeOffset now, int billingDay)
    {
        var period = QuotaPeriod.At(now, billingDay);
        return [$"dl:m:{{{id}}}:info", $"dl:m:{{{id}}}:state", $"dl:m:{{{id}}}:alive",
            MirrorPeriodBytes(id, period.Previous).ToString(), MirrorPeriodBytes(id, period).ToString(), MirrorPeriodBytes(id, period.Next).ToString()];
    }

    /// <summary>The writable keys of a mirror billed by the calendar month (billing day 1).</summary>
    public static IReadOnlyList<string> MirrorWritableKeys(string id, DateTimeOffset now) =>
        MirrorWritableKeys(id, now, QuotaPeriod.DefaultBillingDay);

    /// <summary>
    /// The exact keys a mirror's ACL user may only read: its ops-owned config (to log its status) and approved record, and what
    /// redirectors write about it, its health verdict and bandwidth history, so that its donor sees the
    /// mirror as the network does (<c>Downloads.Mirror status</c>). Not the health leases, nor anything of
    /// another mirror.
    /// </summary>
    public static IReadOnlyList<string> MirrorReadOnlyKeys(string id) =>
        [$"dl:m:{{{id}}}:config", $"dl:m:{{{id}}}:approved", $"dl:h:{{{id}}}", $"dl:h:{{{id}}}:bw:min", $"dl:h:{{{id}}}:bw:hour"];

    /// <summary>
    /// The oldest (and, for a clock ahead, the newest) heartbeat a redirector believes: a mirror writes the
    /// Unix time of its report into <see cref="MirrorAlive"/>, and a heartbeat whose time is further than
    /// this from the reader's clock counts as absent, whatever expiry the mirror gave the key. So a mirror
    /// cannot keep itself alive after it stops reporting by setting a long expiry (its user may SET its own
    /// heartbeat): a mirror that stops reporting is gone after its heartbeat's expiry or this, whichever comes
    /// first. Mirrors report far more often than this (<c>Reporting:Interval</c>, at most 2 minutes) and keep
    /// their clocks within it (NTP).
    /// </summary>
    public static readonly TimeSpan MirrorHeartbeatMaxAge = TimeSpan.FromMinutes(10);

    /// <summary>HASH owned by ops: status, enabled, draining, capacity, weight, quota, billing day, burst (see <see cref="ConfigFields"/>).</summary>
    public static RedisKey MirrorConfig(string id) => $"dl:m:{{{id}}}:config";

    /// <summary>HASH owned by the mirror: what it requests about itself (see <see cref="InfoFields"/>); routing uses <see cref="MirrorApproved"/>.</summary>
    public static RedisKey MirrorInfo(string id) => $"dl:m:{{{id}}}:info";

    /// <summary>
    /// HASH owned by ops: the approved record, what redirectors route by (name, URLs, sets, location, country,
    /// continent, ASN, scope; the field names of <see cref="InfoFields"/>). Written only on approval, as a copy of
    /// the validated <see cref="MirrorInfo"/>, which is then just what the mirror requests (docs/membership.md).
    /// </summary>
    public static RedisKey MirrorApproved(string id) => $"dl:m:{{{id}}}:approved";

    /// <summary>HASH owned by the mirror: its live report (see <see cref="StateFields"/>).</summary>
    public static RedisKey MirrorState(string id) => $"dl:m:{{{id}}}:state";

    /// <summary>STRING owned by the mirror, with a TTL: present while the mirror is alive.</summary>
    public static RedisKey MirrorAlive(string id) => $"dl:m:{{{id}}}:alive";

    /// <summary>The usage counter of the calendar month holding <paramref name="when"/> (billing day 1): <see cref="MirrorPeriodBytes(string, QuotaPeriod)"/>.</summary>
    public static RedisKey MirrorMonthBytes(string id, DateTimeOffset when) =>
        MirrorPeriodBytes(id, QuotaPeriod.At(when));

    /// <summary>
    /// STRING counter owned by the mirror: bytes served in one billing period (<see cref="QuotaPeriod"/>),
    /// named by the period's start: <c>month:yyyyMM</c> when it starts on the 1st (the calendar month, the name
    /// these counters always had), else <c>month:yyyyMMdd</c>, e.g. <c>month:20261215</c> for 15 Dec – 15 Jan.
    /// </summary>
    public static RedisKey MirrorPeriodBytes(string id, QuotaPeriod period) =>
        period.Start.UtcDateTime.Day == 1
            ? $"dl:m:{{{id}}}:month:{period.Start.UtcDateTime:yyyyMM}"
            : $"dl:m:{{{id}}}:month:{period.Start.UtcDateTime:yyyyMMdd}";

    /// <summary>The usage counter of the billing period holding <paramref name="now"/> for <paramref name="billingDay"/>.</summary>
    public static RedisKey MirrorPeriodBytes(string id, DateTimeOffset now, int billingDay) =>
        MirrorPeriodBytes(id, QuotaPeriod.At(now, billingDay));

    /// <summary>How long a <see cref="MirrorMonthBytes"/> counter lives after its last report: two months, so ops can compare with last month, then gone.</summary>
    public static readonly TimeSpan MirrorMonthBytesRetention = TimeSpan.FromDays(62);

    /// <summary>HASH owned by redirectors: the last active health check (see <see cref="HealthFields"/>).</summary>
    public static RedisKey MirrorHealth(string id) => $"dl:h:{{{id}}}";

    /// <summary>How long the daily statistics keys below live, so no counter grows forever.</summary>
    public static readonly TimeSpan StatsRetention = TimeSpan.FromDays(400);

    // Daily statistics keys carry the day as a hash tag ({yyyyMMdd}): one day's keys share a Redis
    // Cluster slot, so a redirector's flush of that day is a single-slot MULTI/EXEC guarded by its
    // acknowledgement key (exactly-once counting, see docs/ops.md).

    /// <summary>HASH written by redirectors: GET redirects per mirror id (field <c>origin</c> for fallbacks) on a UTC day.</summary>
    public static RedisKey StatsMirrors(DateTimeOffset day) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:mirrors";

    /// <summary>HASH written by redirectors: downloads (GET redirects and Metalinks, not HEADs) per file path on a UTC day.</summary>
    public static RedisKey StatsFiles(DateTimeOffset day) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:files";

    /// <summary>HASH written by redirectors: downloads per client country code (<c>--</c> when unknown) on a UTC day.</summary>
    public static RedisKey StatsCountries(DateTimeOffset day) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:countries";

    /// <summary>HyperLogLog written by redirectors: distinct addresses of downloading clients on a UTC day (PFCOUNT it).</summary>
    public static RedisKey StatsAddresses(DateTimeOffset day) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:addrs";

    /// <summary>HASH written by redirectors: every request answered on a UTC day, per outcome (<c>mirror</c>, <c>fallback</c>, <c>head</c>, <c>metalink</c>, <c>rate_limited</c>, …; docs/ops.md).</summary>
    public static RedisKey StatsOutcomes(DateTimeOffset day) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:outcomes";

    /// <summary>HASH written by redirectors: requests with one outcome per file path on a UTC day (only outcomes that name a manifest file).</summary>
    public static RedisKey StatsOutcomeFiles(DateTimeOffset day, string outcome) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:o:{outcome}:files";

    /// <summary>HASH written by redirectors: requests with one outcome per client country code (<c>--</c> when unknown) on a UTC day.</summary>
    public static RedisKey StatsOutcomeCountries(DateTimeOffset day, string outcome) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:o:{outcome}:countries";

    /// <summary>HyperLogLog written by redirectors: distinct client addresses with one outcome on a UTC day (PFCOUNT several for their union).</summary>
    public static RedisKey StatsOutcomeAddresses(DateTimeOffset day, string outcome) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:o:{outcome}:addrs";

    /// <summary>
    /// STRING written by a redirector in the same transaction as one counter batch, with a TTL of
    /// <see cref="StatsAckRetention"/>: its presence means the batch is in, so a retry after an ambiguous
    /// failure (a timeout after the server took it) is skipped instead of counted twice.
    /// </summary>
    public static RedisKey StatsFlushAck(DateTimeOffset day, string batchId) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:ack:{batchId}";

    /// <summary>How long a flush acknowledgement is kept (longer than any retry of the same batch).</summary>
    public static readonly TimeSpan StatsAckRetention = TimeSpan.FromDays(2);

    /// <summary>STRING, transient: a redirector's in-memory HyperLogLog (Redis dense encoding) on its way into <see cref="StatsAddresses"/> via PFMERGE; deleted in the same transaction.</summary>
    public static RedisKey StatsScratch(DateTimeOffset day, string batchId) => $"dl:s:{{{day.UtcDateTime:yyyyMMdd}}}:tmp:{batchId}";

    /// <summary>TTL of a <see cref="StatsScratch"/> key: a safety net only, the transaction that sets it deletes it.</summary>
    public static readonly TimeSpan StatsScratchTtl = TimeSpan.FromMinutes(10);

    /// <summary>LIST written by redirectors: one mirror's outbound bandwidth per minute, <c>unixSeconds:bytesPerSecond</c>, trimmed to the last 24 h.</summary>
    public static RedisKey MirrorBandwidthMinutes(string id) => $"dl:h:{{{id}}}:bw:min";

    /// <summary>TTL of <see cref="MirrorBandwidthMinutes"/>, renewed by each point: a removed mirror's history goes away on its own.</summary>
    public static readonly TimeSpan MirrorBandwidthMinutesRetention = TimeSpan.FromDays(2);

    /// <summary>LIST written by redirectors: one mirror's mean outbound bandwidth per hour, <c>unixSeconds:bytesPerSecond</c>, trimmed to the last 90 days.</summary>
    public static RedisKey MirrorBandwidthHours(string id) => $"dl:h:{{{id}}}:bw:hour";

    /// <summary>TTL of <see cref="MirrorBandwidthHours"/>, renewed by each point (a day past the 90 days it holds).</summary>
    public static readonly TimeSpan MirrorBandwidthHoursRetention = TimeSpan.FromDays(91);

    /// <summary>STRING, <c>SET NX</c> with a TTL: the redirector that sets it writes the bandwidth history for that minute (Unix minutes), so every minute is written once.</summary>
    public static RedisKey HistoryLease(long unixMinute) => $"dl:o:lease:{unixMinute}";

    /// <summary>TTL of a <see cref="HistoryLease"/>: outlives its minute, so a late redirector cannot take it again.</summary>
    public static readonly TimeSpan HistoryLeaseTtl = TimeSpan.FromMinutes(2);

    /// <summary>Field names of <see cref="MirrorConfig"/>.</summary>
    public static class ConfigFields
    {
        /// <summary><c>pending</c> or <c>approved</c>.</summary>
        public const string Status = "status";
        /// <summary><c>1</c> or <c>0</c>.</summary>
        public const string Enabled = "enabled";
        /// <summary><c>1</c> or <c>0</c>.</summary>
        public const string Draining = "draining";
        /// <summary>Capacity granted by ops, Mbit/s (overrides the declared one).</summary>
        public const string CapacityMbps = "capacityMbps";
        /// <summary>Relative weight, default 100.</summary>
        public const string Weight = "weight";
        /// <summary>Quota per billing period in bytes, 0 for none.</summary>
        public const string QuotaBytes = "quotaBytes";
        /// <summary>Day of the month (1–28) the billing period starts; absent: 1, the calendar month (<see cref="QuotaPeriod"/>).</summary>
        public const string BillingDay = "billingDay";
        /// <summary>Burst allowance in percent of the quota (0–100); absent: the redirectors' <c>Redirector:QuotaBurstPercent</c>.</summary>
        public const string BurstPercent = "burstPercent";
        /// <summary>The mirror's Ed25519 public key (base64, 32 bytes) that ops approved, empty while pending; verifies its signed requests (docs/security.md).</summary>
        public const string PublicKey = "publicKey";
        /// <summary>The public key the mirror sent at enrollment, waiting for ops' approval.</summary>
        public const string RequestedPublicKey = "requestedPublicKey";
        /// <summary>Lower-case hex SHA-256 of the Redis password the mirror chose; approval creates its ACL user from it.</summary>
        public const string PasswordSha256 = "passwordSha256";
    }

    /// <summary>Field names of <see cref="MirrorInfo"/>.</summary>
    public static class InfoFields
    {
        /// <summary>Display name.</summary>
        public const string Name = "name";
        /// <summary>Base URL for http, without trailing slash, or empty.</summary>
        public const string HttpUrl = "httpUrl";
        /// <summary>Base URL for https, without trailing slash, or empty.</summary>
        public const string HttpsUrl = "httpsUrl";
        /// <summary>Comma-separated sets the mirror carries; empty means all.</summary>
        public const string Sets = "sets";
        /// <summary>Latitude in degrees (invariant culture).</summary>
        public const string Latitude = "lat";
        /// <summary>Longitude in degrees (invariant culture).</summary>
        public const string Longitude = "lon";
        /// <summary>ISO country code.</summary>
        public const string Country = "country";
        /// <summary>Continent code (EU, NA, AS, …).</summary>
        public const string Continent = "continent";
        /// <summary>Autonomous system number, 0 when unknown.</summary>
        public const string Asn = "asn";
        /// <summary>Capacity the host declares, Mbit/s.</summary>
        public const string CapacityMbps = "capacityMbps";
        /// <summary>Monthly quota the host declares, bytes (0: none).</summary>
        public const string QuotaBytes = "quotaBytes";
        /// <summary><c>country</c>/<c>continent</c>/empty: only serve clients of its own country or continent.</summary>
        public const string Scope = "scope";
    }

    /// <summary>Field names of <see cref="MirrorState"/>.</summary>
    public static class StateFields
    {
        /// <summary>Manifest serial the live tree is verified at.</summary>
        public const string Serial = "serial";
        /// <summary>Total bytes served since the mirror started counting.</summary>
        public const string BytesServed = "bytes";
        /// <summary>Total requests served.</summary>
        public const string Requests = "requests";
        /// <summary>Open client connections now.</summary>
        public const string Connections = "connections";
        /// <summary>Current outbound rate, bytes/s.</summary>
        public const string RateBps = "rateBps";
        /// <summary>Last sync error, empty when none.</summary>
        public const string LastError = "lastError";
        /// <summary>Unix seconds of this report.</summary>
        public const string Updated = "updated";
        /// <summary>
        /// Key (base64url) with which redirectors sign their health probes of this mirror, made by the mirror at
        /// start (<see cref="Mirrors.ProbeToken"/>); read only by redirectors, so no client can forge a probe.
        /// </summary>
        public const string ProbeKey = "probeKey";
        /// <summary>
        /// The staged (encrypted, unreleased) files the mirror holds complete: their opaque 32-hex-digit ids, comma-separated,
        /// at most <see cref="MaxStagedIds"/>, plus those decrypted at their release whose serial is not live yet. The ids name
        /// nothing, so the field leaks nothing; ops' coverage view reads it, and redirectors read it with the live fields to
        /// count a mirror as synced for a file just released from one of its ids.
        /// </summary>
        public const string Staged = "staged";
        /// <summary>Most ids reported in <see cref="Staged"/> (keeps the value under the readers' 4096-byte cap).</summary>
        public const int MaxStagedIds = 120;
    }

    /// <summary>Field names of <see cref="MirrorHealth"/>.</summary>
    public static class HealthFields
    {
        /// <summary><c>1</c> when the mirror passes, <c>0</c> when excluded.</summary>
        public const string Ok = "ok";
        /// <summary>Reason of the last failure.</summary>
        public const string Reason = "reason";
        /// <summary>Unix seconds of the last check.</summary>
        public const string Checked = "checked";
        /// <summary>Consecutive good rounds since the last failure.</summary>
        public const string GoodRounds = "goodRounds";
        /// <summary>What the last probe fetched (URL and byte range), for ops.</summary>
        public const string Probe = "probe";
        /// <summary>Duration of the last probe, milliseconds.</summary>
        public const string LatencyMs = "latencyMs";
        /// <summary>Unix seconds of the last failure, 0 when never failed.</summary>
        public const string LastFailure = "lastFailure";
    }
}
