using System.Globalization;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using StackExchange.Redis;

namespace Downloads.Testing;

/// <summary>Writes mirrors into Redis the way enrollment, ops approval and the mirror's own reports would.</summary>
public static class TestMirrors
{
    /// <summary>Adds an approved, live mirror at the given place with 1 Gbit/s capacity, synced at <paramref name="serial"/>.</summary>
    public static async Task AddApprovedAsync(IDatabase db, string id, string url, double lat, double lon, string country,
        string continent, long serial, double rateBps = 0, string? sets = null)
    {
        var info = new Dictionary<string, string>
        {
            [Keyspace.InfoFields.Name] = id,
            [Keyspace.InfoFields.HttpUrl] = url,
            [Keyspace.InfoFields.Latitude] = lat.ToString(CultureInfo.InvariantCulture),
            [Keyspace.InfoFields.Longitude] = lon.ToString(CultureInfo.InvariantCulture),
            [Keyspace.InfoFields.Country] = country,
            [Keyspace.InfoFields.Continent] = continent,
            [Keyspace.InfoFields.CapacityMbps] = "1000",
        };
        if (sets is not null)
            info[Keyspace.InfoFields.Sets] = sets;
        await MirrorStore.AddAsync(db, id);
        await MirrorStore.WriteInfoAsync(db, id, info);
        await MirrorStore.SetConfigAsync(db, id, (Keyspace.ConfigFields.Status, "approved"));
        await ApproveInfoAsync(db, id);
        await ReportAsync(db, id, serial, rateBps);
    }

    /// <summary>
    /// What ops' approval does to the routing fields (MembershipService.ApproveAsync, without the ACL part): the
    /// mirror's requested info, validated, becomes its approved record. A test that has a mirror change its info
    /// calls this after, as ops would approve the change.
    /// </summary>
    public static async Task ApproveInfoAsync(IDatabase db, string id)
    {
        var requested = await MirrorStore.ReadFieldsAsync(db, Keyspace.MirrorInfo(id), MirrorInfoValidation.RequestFields);
        if (MirrorInfoValidation.Normalize(requested, out var info) is { } bad)
            throw new InvalidOperationException($"mirror {id}: {bad}");
        await MirrorStore.WriteApprovedAsync(db, id, info.Where(f => MirrorInfoValidation.ApprovedFields.Contains(f.Key)).ToDictionary());
    }

    /// <summary>Writes fields of the approved record directly, unchecked, as a hostile or broken writer could: for tests of the reader.</summary>
    public static Task WriteApprovedRawAsync(IDatabase db, string id, params (string Field, string Value)[] fields) =>
        db.HashSetAsync(Keyspace.MirrorApproved(id), fields.Select(f => new HashEntry(f.Field, f.Value)).ToArray());

    /// <summary>One mirror report: serial and rate, with a heartbeat that outlives the test.</summary>
    public static Task ReportAsync(IDatabase db, string id, long serial, double rateBps = 0) =>
        MirrorStore.ReportAsync(db, id,
        [
            new(Keyspace.StateFields.Serial, serial.ToString(CultureInfo.InvariantCulture)),
            new(Keyspace.StateFields.RateBps, rateBps.ToString(CultureInfo.InvariantCulture)),
        ], TimeSpan.FromHours(1), 0, DateTimeOffset.UtcNow);
}
