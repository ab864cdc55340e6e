using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Geo;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Redirector.Membership;

/// <summary>
/// Ops' operations on the mirror table — tokens, enrollment, approval, enable/disable/drain — with no
/// HTTP in sight, so the admin API and the CLI share them. See docs/membership.md for the flow.
/// </summary>
public sealed partial class MembershipService(IConnectionMultiplexer redis, IOptions<MembershipOptions> options,
    TimeProvider time, ILogger<MembershipService> log, IGeoLocator? geo = null)
{
    private IDatabase Db => redis.GetDatabase();

    /// <summary>Issues a one-time enrollment token; only its SHA-256 is stored, with a TTL.</summary>
    public async Task<(string Token, DateTimeOffset Expires)> IssueTokenAsync(TimeSpan? lifetime = null)
    {
        var ttl = lifetime ?? options.Value.TokenLifetime;
        var token = "dlt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        await Db.StringSetAsync(EnrollToken(HashToken(token)), time.GetUtcNow().ToUnixTimeSeconds(), ttl);
        LogTokenIssued(log, ttl.TotalHours);
        return (token, time.GetUtcNow() + ttl);
    }

    /// <summary>
    /// Enrolls a mirror: burns the token, writes its declared info and a pending config holding the public
    /// key and password hash it sent, and adds it to the table. No Redis user is made here: ops' approval
    /// makes it, on the ops path (this process's Redis user may not manage users, docs/keyspace.md).
    /// </summary>
    public async Task<MembershipResult<EnrollResponse>> EnrollAsync(EnrollRequest request, IPAddress? remote = null)
    {
        if (!MirrorIds.IsValid(request.Id))
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidId, $"mirror id '{request.Id}' must be 1-48 lower-case letters, digits or '-'");
        var id = request.Id;
        if (MirrorInfoValidation.Normalize(request.Info, out var info) is { } bad)
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidInfo, bad);
        if (!MirrorIdentity.IsPublicKey(request.PublicKey))
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidInfo, "publicKey must be the base64 of a 32-byte Ed25519 public key; update the mirror");
        if (!MirrorIdentity.IsPasswordSha256(request.PasswordSha256))
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidInfo, "passwordSha256 must be 64 lower-case hex digits; update the mirror");
        var db = Db;
        var tokenKey = EnrollToken(HashToken(request.Token ?? ""));
        if (!await db.KeyExistsAsync(tokenKey))
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidToken, "enrollment token is unknown, used or expired; ask ops for a new one");
        if (await db.SetContainsAsync(Keyspace.Mirrors, id))
            return IdTaken(id);
        // HSETNX on the config is the atomic claim of the id: of two enrollments racing for one id (with two
        // tokens), only one creates it; the other fails here before its token is burnt or any password made.
        if (!await db.HashSetAsync(MirrorConfig(id), ConfigFields.Status, "pending", When.NotExists))
            return IdTaken(id);
        // DEL is the atomic burn: of two racing enrollments with one token, only one sees 1.
        if (!await db.KeyDeleteAsync(tokenKey))
        {
            await db.KeyDeleteAsync(MirrorConfig(id)); // give the id back
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidToken, "enrollment token is unknown, used or expired; ask ops for a new one");
        }

        try
        {
            return await CompleteEnrollmentAsync(db, id, info, request.PublicKey!, request.PasswordSha256!, remote);
        }
        catch
        {
            // The token is spent, but the id must not stay claimed by an enrollment that never finished.
            await db.KeyDeleteAsync(MirrorConfig(id));
            throw;
        }
    }

    private async Task<MembershipResult<EnrollResponse>> CompleteEnrollmentAsync(IDatabase db, string id, Dictionary<string, string> info,
        string publicKey, string passwordSha256, IPAddress? remote)
    {
        FillLocation(info, remote);

        // Garnet (./run.sh's embedded store) refuses key permissions: run.sh turns PerMirrorUsers off there.
        string? user = options.Value.PerMirrorUsers ? MirrorAclUser(id) : null;
        if (user is null)
            LogSharedUser(log, id, "Membership:PerMirrorUsers is false");

        await MirrorStore.WriteInfoAsync(db, id, info);
        await db.HashSetAsync(MirrorConfig(id),
        [
            new(ConfigFields.Status, "pending"), new(ConfigFields.Enabled, "1"), new(ConfigFields.Draining, "0"),
            new(ConfigFields.RequestedPublicKey, publicKey), new(ConfigFields.PasswordSha256, passwordSha256),
        ]);
        await MirrorStore.AddAsync(db, id);
        await db.PublishAsync(MirrorsChanged, id);
        LogEnrolled(log, id, remote?.ToString() ?? "?", user ?? "(shared)");
        return MembershipResult.Success<EnrollResponse>(new EnrollResponse
        {
            Id = id, Status = "pending", User = user, SharedUser = user is null,
        });
    }

    /// <summary>
    /// Approves a mirror, or the change it requested since, on the ops path: its requested info, validated again,
    /// becomes the approved record that redirectors route by (refused, with the approved record left as it was,
    /// when it is invalid); its ACL user is created from the password hash it sent at enrollment (exact keys,
    /// <see cref="MirrorAcl"/>) on every node; the public key it sent is recorded as the approved one; status
    /// approved. Needs a Redis user that may manage users (ops' admin user): with a redirector's own user it fails
    /// with <see cref="MembershipError.NeedsOpsPath"/> and changes nothing.
    /// </summary>
    public async Task<MembershipResult<MirrorRecord>> ApproveAsync(string id)
    {
        if (!MirrorIds.IsValid(id) || !await Db.SetContainsAsync(Keyspace.Mirrors, id))
            return NotFound(id);
        var requestedInfo = await MirrorStore.ReadFieldsAsync(Db, MirrorInfo(id), MirrorInfoValidation.RequestFields);
        if (MirrorInfoValidation.Normalize(requestedInfo, out var info) is { } bad)
            return MembershipResult.Fail<MirrorRecord>(MembershipError.InvalidInfo, $"mirror '{id}' requests invalid info ({bad}); the approved record is unchanged");
        var approved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in MirrorInfoValidation.ApprovedFields)
        {
            if (info.TryGetValue(field, out var value))
                approved[field] = value;
        }
        var db = Db;
        var requested = await db.HashGetAsync(MirrorConfig(id), [ConfigFields.RequestedPublicKey, ConfigFields.PasswordSha256, ConfigFields.PublicKey]);
        var publicKey = requested[0].IsNullOrEmpty ? requested[2].ToString() : requested[0].ToString();
        bool hasUser;
        try
        {
            hasUser = await GrantAsync(db, id, requested[1].ToString(), on: true);
        }
        catch (RedisServerException e) when (MirrorAcl.IsNoPermission(e))
        {
            return NeedsOpsPath<MirrorRecord>(id, "approve", e.Message);
        }
        var changed = await PendingChangeAsync(id);
        await MirrorStore.WriteApprovedAsync(db, id, approved);
        await MirrorStore.SetConfigAsync(db, id, (ConfigFields.Status, "approved"), (ConfigFields.PublicKey, publicKey));
        LogApproved(log, id, hasUser);
        if (changed is not null)
            LogApprovedChange(log, id, string.Join(", ", changed.Keys));
        return await FindAsync(id) is { } found ? MembershipResult.Success(found) : NotFound(id);
    }

    /// <summary>
    /// The fields where what the mirror requests (its info hash, normalized) differs from its approved record, or
    /// null when they agree. A requested value that fails validation is shown as such; approving it is refused.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, FieldChange>?> PendingChangeAsync(string id)
    {
        var requested = await MirrorStore.ReadFieldsAsync(Db, MirrorInfo(id), MirrorInfoValidation.ApprovedFields);
        var approved = await MirrorStore.ReadFieldsAsync(Db, MirrorApproved(id), MirrorInfoValidation.ApprovedFields);
        Dictionary<string, FieldChange>? changes = null;
        foreach (var field in MirrorInfoValidation.ApprovedFields)
        {
            var want = requested.TryGetValue(field, out var r) ? r.Trim() : "";
            if (want.Length > 0)
                want = MirrorInfoValidation.CheckField(field, want, out var clean) is { } error ? $"(invalid: {error})" : clean;
            var have = approved.TryGetValue(field, out var a) ? a : "";
            if (!string.Equals(want, have, StringComparison.Ordinal))
                (changes ??= new(StringComparer.Ordinal))[field] = new FieldChange(have, want);
        }
        return changes;
    }

    /// <summary>
    /// The ops path's periodic job (<c>redirector mirrors sync-users</c>): for every approved mirror, grants its current
    /// billing periods' exact keys (the usage counters move with the calendar and the mirror's billing day) on every node, which also puts back a
    /// user a node lost (a replica restarted without its ACL file, a failover); deletes the users of mirrors
    /// no longer in the table. Returns (users granted, users deleted).
    /// </summary>
    public async Task<MembershipResult<(int Granted, int Deleted)>> SyncUsersAsync()
    {
        var db = Db;
        var granted = 0;
        var deleted = 0;
        try
        {
            var ids = await MirrorStore.LoadIdsAsync(db);
            foreach (var id in ids)
            {
                var config = await db.HashGetAsync(MirrorConfig(id), [ConfigFields.Status, ConfigFields.PasswordSha256]);
                if (config[0] != "approved")
                    continue;
                if (await GrantAsync(db, id, config[1].ToString(), on: false))
                    granted++;
            }
            var known = new HashSet<string>(ids, StringComparer.Ordinal);
            foreach (var id in await MirrorAcl.UsersAsync(db))
            {
                if (known.Contains(id))
                    continue;
                await MirrorAcl.DeleteAsync(db, id);
                await MirrorAcl.PropagateAsync(redis, id);
                deleted++;
            }
        }
        catch (RedisServerException e) when (MirrorAcl.IsNoPermission(e))
        {
            return NeedsOpsPath<(int, int)>("*", "sync-users", e.Message);
        }
        LogUsersSynced(log, granted, deleted);
        return MembershipResult.Success((granted, deleted));
    }

    /// <summary>
    /// Gives the mirror's user this month's rules on every node: creates it from <paramref name="passwordSha256"/>
    /// when missing (or replaces an older one made before passwords were hashed by the mirror), else re-grants
    /// keeping its password. False when there is no user to have (a shared-user store, or no hash and no user).
    /// </summary>
    private async Task<bool> GrantAsync(IDatabase db, string id, string passwordSha256, bool on)
    {
        if (!options.Value.PerMirrorUsers)
            return false;
        var now = time.GetUtcNow();
        // The usage counters granted are those of the mirror's billing periods (ops' config).
        var billingDay = await MirrorStore.ReadBillingDayAsync(db, id);
        try
        {
            if (MirrorIdentity.IsPasswordSha256(passwordSha256))
            {
                // Switched off (a disabled user) stays off on a re-grant; approval switches it on.
                var existing = await db.ExecuteAsync("ACL", "GETUSER", MirrorAclUser(id));
                if (existing.IsNull || on)
                    await MirrorAcl.CreateAsync(db, id, passwordSha256, now, billingDay);
                else
                    await MirrorAcl.RegrantAsync(db, id, now, billingDay: billingDay);
            }
            else if (!await MirrorAcl.RegrantAsync(db, id, now, on, billingDay))
            {
                return false;
            }
        }
        catch (RedisServerException e) when (!MirrorAcl.IsNoPermission(e))
        {
            // Garnet (./run.sh's embedded store) refuses key permissions: mirrors share one user there.
            LogSharedUser(log, id, e.Message);
            return false;
        }
        await MirrorAcl.PropagateAsync(redis, id);
        return true;
    }

    /// <summary>Enables or disables a mirror (a disabled mirror keeps reporting but gets no traffic).</summary>
    public Task<MembershipResult<MirrorRecord>> SetEnabledAsync(string id, bool enabled) =>
        SetAsync(id, ConfigFields.Enabled, enabled ? "1" : "0", r => r with { Enabled = enabled });

    /// <summary>Starts or stops draining (no new traffic; running downloads finish).</summary>
    public Task<MembershipResult<MirrorRecord>> SetDrainingAsync(string id, bool draining) =>
        SetAsync(id, ConfigFields.Draining, draining ? "1" : "0", r => r with { Draining = draining });

    /// <summary>Sets the capacity ops grant, Mbit/s (overrides the declared one).</summary>
    public Task<MembershipResult<MirrorRecord>> SetCapacityAsync(string id, double mbps) =>
        SetAsync(id, ConfigFields.CapacityMbps, mbps.ToString(CultureInfo.InvariantCulture), r => r with { CapacityMbps = mbps });

    /// <summary>Sets the relative weight.</summary>
    public Task<MembershipResult<MirrorRecord>> SetWeightAsync(string id, double weight) =>
        SetAsync(id, ConfigFields.Weight, weight.ToString(CultureInfo.InvariantCulture), r => r with { Weight = weight });

    /// <summary>Sets the quota per billing period, bytes (0: none; overrides the declared one).</summary>
    public Task<MembershipResult<MirrorRecord>> SetQuotaAsync(string id, long bytes) =>
        SetAsync(id, ConfigFields.QuotaBytes, bytes.ToString(CultureInfo.InvariantCulture), r => r with { QuotaBytes = bytes });

    /// <summary>Sets the burst allowance, percent of the quota (overrides <c>Redirector:QuotaBurstPercent</c> for this mirror).</summary>
    public Task<MembershipResult<MirrorRecord>> SetBurstAsync(string id, double percent) =>
        SetAsync(id, ConfigFields.BurstPercent, percent.ToString(CultureInfo.InvariantCulture), r => r with { BurstPercent = percent });

    /// <summary>
    /// Sets the billing day (1–28): the period, and with it the usage counter, moves to start on that day (the
    /// new period's counter starts at what the mirror reports from now on). The mirror's user is re-granted the new
    /// period's keys at once where this process may manage users (the ops path); else the mirror's counter reports
    /// wait, heartbeat and state unaffected, until <c>redirector mirrors sync-users</c> runs (logged).
    /// </summary>
    public async Task<MembershipResult<MirrorRecord>> SetBillingDayAsync(string id, int day)
    {
        if (!QuotaPeriod.IsBillingDay(day))
            return MembershipResult.Fail<MirrorRecord>(MembershipError.InvalidInfo, "day must be a whole day of the month, 1-28");
        var result = await SetAsync(id, ConfigFields.BillingDay, day.ToString(CultureInfo.InvariantCulture), r => r with { BillingDay = day });
        if (!result.Ok)
            return result;
        var config = await Db.HashGetAsync(MirrorConfig(id), [ConfigFields.Status, ConfigFields.PasswordSha256]);
        if (config[0] != "approved")
            return result;
        try
        {
            await GrantAsync(Db, id, config[1].ToString(), on: false);
        }
        catch (RedisServerException e) when (MirrorAcl.IsNoPermission(e))
        {
            LogBillingDayRegrantPending(log, id, day, e.Message);
        }
        return result;
    }

    /// <summary>
    /// Removes (revokes) a mirror in one step: its ACL user deleted on every node first (so a redirector's own
    /// user, which may not, fails before anything changes), then out of the table with its keys, the approved
    /// public key in its config among them (month counters expire on their own). Its id can then be enrolled
    /// again with a new token.
    /// </summary>
    public async Task<MembershipResult<string>> RemoveAsync(string id)
    {
        if (!MirrorIds.IsValid(id) || !await Db.SetContainsAsync(Keyspace.Mirrors, id))
            return MembershipResult.Fail<string>(MembershipError.NotFound, $"no mirror '{id}'");
        try
        {
            await MirrorAcl.DeleteAsync(Db, id);
        }
        catch (RedisServerException e) when (MirrorAcl.IsNoPermission(e))
        {
            return NeedsOpsPath<string>(id, "remove", e.Message);
        }
        await MirrorAcl.PropagateAsync(redis, id);
        await Db.SetRemoveAsync(Keyspace.Mirrors, id);
        await Db.KeyDeleteAsync([MirrorConfig(id), MirrorInfo(id), MirrorApproved(id), MirrorState(id), MirrorAlive(id), MirrorHealth(id)]);
        await Db.PublishAsync(MirrorsChanged, id);
        LogRemoved(log, id);
        return MembershipResult.Success(id);
    }

    /// <summary>The raw last health check of a mirror (ok, reason, probe, latency, …); empty when never checked.</summary>
    public async Task<Dictionary<string, string>> HealthAsync(string id) =>
        MirrorIds.IsValid(id) ? (await Db.HashGetAllAsync(MirrorHealth(id))).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString()) : [];

    /// <summary>Every mirror, merged, with its pending change (ops' view).</summary>
    public async Task<IReadOnlyList<MirrorRecord>> ListAsync()
    {
        var mirrors = await MirrorStore.LoadAllAsync(Db, time.GetUtcNow());
        var changes = await Task.WhenAll(mirrors.Select(m => PendingChangeAsync(m.Id)));
        return [.. mirrors.Select((m, i) => m with { PendingChange = changes[i] })];
    }

    /// <summary>One mirror with its pending change, or null.</summary>
    public async Task<MirrorRecord?> FindAsync(string id)
    {
        if (!MirrorIds.IsValid(id) || !await Db.SetContainsAsync(Keyspace.Mirrors, id))
            return null;
        var found = (await MirrorStore.LoadAsync(Db, [id], time.GetUtcNow()))[0];
        return found with { PendingChange = await PendingChangeAsync(id) };
    }

    internal static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token.Trim())));

    private async Task<MembershipResult<MirrorRecord>> SetAsync(string id, string field, string value, Func<MirrorRecord, MirrorRecord> apply)
    {
        if (await FindAsync(id) is not { } found)
            return NotFound(id);
        await MirrorStore.SetConfigAsync(Db, id, (field, value));
        LogConfigured(log, id, field, value);
        return MembershipResult.Success<MirrorRecord>(apply(found));
    }

    private static MembershipResult<EnrollResponse> IdTaken(string id) =>
        MembershipResult.Fail<EnrollResponse>(MembershipError.IdTaken, $"mirror id '{id}' is already enrolled; pick another id or ask ops to remove it");

    private MembershipResult<T> NeedsOpsPath<T>(string id, string verb, string reason)
    {
        LogNeedsOpsPath(log, id, verb, reason);
        return MembershipResult.Fail<T>(MembershipError.NeedsOpsPath,
            $"this Redis user may not manage mirror users (least privilege: a redirector's user cannot); run `redirector mirrors {verb}` on the ops host with the admin Redis user (--redis or ${Cli.OpsCli.AdminRedisVariable})");
    }

    private static MembershipResult<MirrorRecord> NotFound(string id) =>
        MembershipResult.Fail<MirrorRecord>(MembershipError.NotFound, $"no mirror '{id}'");

    // A host that states no location is placed where the geo database puts the address it enrolled from.
    private void FillLocation(Dictionary<string, string> info, IPAddress? remote)
    {
        if (geo is null || remote is null || (info.ContainsKey(InfoFields.Latitude) && info.ContainsKey(InfoFields.Longitude)))
            return;
        var where = geo.Locate(remote);
        if (!where.HasCoordinates)
            return;
        info[InfoFields.Latitude] = where.Latitude.ToString(CultureInfo.InvariantCulture);
        info[InfoFields.Longitude] = where.Longitude.ToString(CultureInfo.InvariantCulture);
        // The geo database's codes pass the same checks as a mirror's own (an empty or odd one is left out).
        if (MirrorInfoValidation.CheckField(InfoFields.Country, where.Country, out var country) is null)
            info.TryAdd(InfoFields.Country, country);
        if (MirrorInfoValidation.CheckField(InfoFields.Continent, where.Continent, out var continent) is null)
            info.TryAdd(InfoFields.Continent, continent);
        if (where.Asn > 0)
            info.TryAdd(InfoFields.Asn, where.Asn.ToString(CultureInfo.InvariantCulture));
    }

    [LoggerMessage(EventId = RedirectorEvents.TokenIssued, Level = LogLevel.Information, Message = "Enrollment token issued, valid {Hours:0.#} h")]
    private static partial void LogTokenIssued(ILogger logger, double hours);

    [LoggerMessage(EventId = RedirectorEvents.MirrorEnrolled, Level = LogLevel.Information, Message = "Mirror {Id} enrolled from {Remote} as Redis user {User}; pending approval")]
    private static partial void LogEnrolled(ILogger logger, string id, string remote, string user);

    [LoggerMessage(EventId = RedirectorEvents.AclRefused, Level = LogLevel.Warning, Message = "Mirror {Id}: no per-mirror ACL user ({Reason}); mirrors share one Redis user and can write each other's keys")]
    private static partial void LogSharedUser(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = RedirectorEvents.MirrorApproved, Level = LogLevel.Information, Message = "Mirror {Id} approved (own Redis user switched on: {HasUser})")]
    private static partial void LogApproved(ILogger logger, string id, bool hasUser);

    [LoggerMessage(EventId = RedirectorEvents.NeedsOpsPath, Level = LogLevel.Warning, Message = "Mirror {Id}: {Verb} refused, this process's Redis user may not manage ACL users ({Reason}); run it on the ops path with the admin user")]
    private static partial void LogNeedsOpsPath(ILogger logger, string id, string verb, string reason);

    [LoggerMessage(EventId = RedirectorEvents.MirrorUsersSynced, Level = LogLevel.Information, Message = "Mirror users synced: {Granted} granted their billing periods' keys on every node, {Deleted} of removed mirrors deleted")]
    private static partial void LogUsersSynced(ILogger logger, int granted, int deleted);
    [LoggerMessage(EventId = RedirectorEvents.MirrorChangeApproved, Level = LogLevel.Information, Message = "Mirror {Id}: requested change approved ({Fields})")]
    private static partial void LogApprovedChange(ILogger logger, string id, string fields);

    [LoggerMessage(EventId = RedirectorEvents.MirrorRemoved, Level = LogLevel.Information, Message = "Mirror {Id} removed with its keys and Redis user")]
    private static partial void LogRemoved(ILogger logger, string id);

    [LoggerMessage(EventId = RedirectorEvents.MirrorFieldSet, Level = LogLevel.Information, Message = "Mirror {Id}: {Field} set to {Value}")]
    private static partial void LogConfigured(ILogger logger, string id, string field, string value);

    [LoggerMessage(EventId = RedirectorEvents.BillingDayRegrantPending, Level = LogLevel.Warning, Message = "Mirror {Id}: billing day set to {Day}, but this process's Redis user may not re-grant the new period's usage key ({Reason}); its usage reports wait until `redirector mirrors sync-users` runs on the ops path")]
    private static partial void LogBillingDayRegrantPending(ILogger logger, string id, int day, string reason);
}
