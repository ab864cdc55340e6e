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
    /// Enrolls a mirror: burns the token, writes its declared info and a pending config, adds it to
    /// the table and creates its ACL user (off until approved). The password is returned only here.
    /// </summary>
    public async Task<MembershipResult<EnrollResponse>> EnrollAsync(EnrollRequest request, IPAddress? remote = null)
    {
        if (!MirrorIds.IsValid(request.Id))
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidId, $"mirror id '{request.Id}' must be 1-48 lower-case letters, digits or '-'");
        var id = request.Id;
        if (MirrorInfoValidation.Normalize(request.Info, out var info) is { } bad)
            return MembershipResult.Fail<EnrollResponse>(MembershipError.InvalidInfo, bad);
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
            return await CompleteEnrollmentAsync(db, id, info, remote);
        }
        catch
        {
            // The token is spent, but the id must not stay claimed by an enrollment that never finished.
            await db.KeyDeleteAsync(MirrorConfig(id));
            throw;
        }
    }

    private async Task<MembershipResult<EnrollResponse>> CompleteEnrollmentAsync(IDatabase db, string id, Dictionary<string, string> info, IPAddress? remote)
    {
        FillLocation(info, remote);

        string? user = null, password = null;
        if (options.Value.PerMirrorUsers)
        {
            password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            try
            {
                await MirrorAcl.CreateAsync(db, id, password);
                await MirrorAcl.PropagateAsync(redis, id);
                user = MirrorAclUser(id);
            }
            catch (RedisServerException e)
            {
                // Garnet (./run.sh's embedded store) refuses key patterns: mirrors share one user there.
                LogSharedUser(log, id, e.Message);
                password = null;
            }
        }

        await MirrorStore.WriteInfoAsync(db, id, info);
        await db.HashSetAsync(MirrorConfig(id), [new(ConfigFields.Status, "pending"), new(ConfigFields.Enabled, "1"), new(ConfigFields.Draining, "0")]);
        await MirrorStore.AddAsync(db, id);
        await db.PublishAsync(MirrorsChanged, id);
        LogEnrolled(log, id, remote?.ToString() ?? "?", user ?? "(shared)");
        return MembershipResult.Success<EnrollResponse>(new EnrollResponse
        {
            Id = id, Status = "pending", User = user, Password = password, SharedUser = user is null,
        });
    }

    /// <summary>
    /// Approves a mirror, or the change it requested since: its requested info, validated again, becomes the
    /// approved record that redirectors route by; status approved and its ACL user switched on. Refused, with the
    /// approved record left as it was, when the requested info is invalid.
    /// </summary>
    public async Task<MembershipResult<MirrorRecord>> ApproveAsync(string id)
    {
        if (!MirrorIds.IsValid(id) || !await Db.SetContainsAsync(Keyspace.Mirrors, id))
            return NotFound(id);
        var requested = await MirrorStore.ReadFieldsAsync(Db, MirrorInfo(id), MirrorInfoValidation.RequestFields);
        if (MirrorInfoValidation.Normalize(requested, out var info) is { } bad)
            return MembershipResult.Fail<MirrorRecord>(MembershipError.InvalidInfo, $"mirror '{id}' requests invalid info ({bad}); the approved record is unchanged");
        var approved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in MirrorInfoValidation.ApprovedFields)
        {
            if (info.TryGetValue(field, out var value))
                approved[field] = value;
        }
        var changed = await PendingChangeAsync(id);
        await MirrorStore.WriteApprovedAsync(Db, id, approved);
        await MirrorStore.SetConfigAsync(Db, id, (ConfigFields.Status, "approved"));
        var hasUser = await MirrorAcl.SetEnabledAsync(Db, id, on: true);
        if (hasUser)
            await MirrorAcl.PropagateAsync(redis, id);
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

    /// <summary>
    /// Removes a mirror: out of the table, its keys and its ACL user deleted (month counters expire on
    /// their own). Its id can then be enrolled again with a new token.
    /// </summary>
    public async Task<MembershipResult<string>> RemoveAsync(string id)
    {
        if (!MirrorIds.IsValid(id) || !await Db.SetRemoveAsync(Keyspace.Mirrors, id))
            return MembershipResult.Fail<string>(MembershipError.NotFound, $"no mirror '{id}'");
        await Db.KeyDeleteAsync([MirrorConfig(id), MirrorInfo(id), MirrorApproved(id), MirrorState(id), MirrorAlive(id), MirrorHealth(id)]);
        await MirrorAcl.DeleteAsync(Db, id);
        await MirrorAcl.PropagateAsync(redis, id);
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

    [LoggerMessage(EventId = RedirectorEvents.AclRefused, Level = LogLevel.Warning, Message = "Mirror {Id}: the store refused per-mirror ACL rules ({Reason}); mirrors share one Redis user and can write each other's keys")]
    private static partial void LogSharedUser(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = RedirectorEvents.MirrorApproved, Level = LogLevel.Information, Message = "Mirror {Id} approved (own Redis user switched on: {HasUser})")]
    private static partial void LogApproved(ILogger logger, string id, bool hasUser);

    [LoggerMessage(EventId = RedirectorEvents.MirrorChangeApproved, Level = LogLevel.Information, Message = "Mirror {Id}: requested change approved ({Fields})")]
    private static partial void LogApprovedChange(ILogger logger, string id, string fields);

    [LoggerMessage(EventId = RedirectorEvents.MirrorRemoved, Level = LogLevel.Information, Message = "Mirror {Id} removed with its keys and Redis user")]
    private static partial void LogRemoved(ILogger logger, string id);

    [LoggerMessage(EventId = RedirectorEvents.MirrorFieldSet, Level = LogLevel.Information, Message = "Mirror {Id}: {Field} set to {Value}")]
    private static partial void LogConfigured(ILogger logger, string id, string field, string value);
}
