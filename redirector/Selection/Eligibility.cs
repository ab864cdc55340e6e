using System.Numerics;
using System.Runtime.CompilerServices;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Staging;

namespace Downloads.Redirector.Selection;

/// <summary>
/// Whether a mirror may serve a request: every rule, in one place (DESIGN.md, "A candidate mirror is…").
/// The snapshot builder applies the standing rules once per table (<see cref="Standing"/>, <see cref="SpeaksScheme"/>),
/// the heartbeat-panic rule asks <see cref="WouldServe"/>, <see cref="MirrorSelector.Select"/> applies the
/// per-request rules to the table rows (<see cref="FreshAndCarries"/>, <see cref="Fresh"/>, <see cref="Carries"/>,
/// <see cref="InScope"/>, <see cref="HasRoomNow"/>; the serials compared are a release's overlay where
/// <see cref="HoldsRelease"/> applies), and the mirror list spells them out per mirror with a
/// reason (<see cref="Check"/>). Change a rule here and every one of them follows.
/// </summary>
internal static class Eligibility
{
    /// <summary>
    /// The reasons that keep a mirror out whatever the file or client; the first that applies wins. With
    /// <paramref name="heartbeatPanic"/> a missing heartbeat is not one of them (<see cref="HeartbeatPanic"/>).
    /// <paramref name="pace"/> is the share of its capacity its quota budget allows now (<see cref="Pace"/>).
    /// </summary>
    public static Exclusion Standing(MirrorRecord r, double spareBps, bool heartbeatPanic = false, double pace = 1)
    {
        if (r.Status != MirrorStatus.Approved)
            return Exclusion.Pending;
        if (!r.Enabled || r.Weight <= 0)
            return Exclusion.Disabled;
        if (r.Draining)
            return Exclusion.Draining;
        if (!r.Alive && !heartbeatPanic)
            return Exclusion.Down;
        if (!r.Healthy)
            return Exclusion.Unhealthy;
        if (r.QuotaBytes > 0 && r.MonthBytes >= r.QuotaBytes)
            return Exclusion.OverQuota;
        // Ahead of its quota budget by the whole burst, or past the ceiling: nothing new until time catches up.
        if (pace <= 0)
            return Exclusion.Paced;
        // A mirror at capacity gets no new redirects until its reported rate drops.
        if (spareBps <= 0)
            return Exclusion.Full;
        return Exclusion.None;
    }

    /// <summary>The standing exclusion of a mirror in a snapshot (as the snapshot's tables were built).</summary>
    public static Exclusion Standing(RoutingSnapshot snapshot, MirrorEntry mirror) =>
        Standing(mirror.Record, mirror.SpareBps, snapshot.HeartbeatPanic, mirror.Pace);

    /// <summary>
    /// Spare bandwidth as reported, bytes/s: capacity (ops' or declared, else the default), scaled by the quota
    /// pace, less the reported rate. Pacing works by shrinking the capacity the mirror is believed to have, so
    /// every later rule (the lottery, "full", the last resort among full mirrors) honours it.
    /// </summary>
    public static double SpareBps(MirrorRecord r, double defaultCapacityMbps, double pace = 1) =>
        (Bandwidth.BytesPerSecond(r.CapacityMbps > 0 ? r.CapacityMbps : defaultCapacityMbps) * pace) - r.RateBps;

    /// <summary>
    /// The share of its capacity a mirror's quota budget allows at <paramref name="now"/> (<see cref="QuotaBudget.Pace"/>),
    /// in steps of 1/64 so that a snapshot is rebuilt only when it moved visibly. 1 without a quota.
    /// </summary>
    public static double Pace(MirrorRecord r, RedirectorOptions options, DateTimeOffset now)
    {
        if (r.QuotaBytes <= 0)
            return 1;
        return Math.Round(Budget(r, options).Pace(r.MonthBytes, now) * 64) / 64;
    }

    /// <summary>
    /// The mirror's quota budget: its quota and billing day, its own burst where ops set one (else
    /// <see cref="RedirectorOptions.QuotaBurstPercent"/>), the ceiling of <see cref="RedirectorOptions.QuotaCeilingPercent"/>.
    /// </summary>
    public static QuotaBudget Budget(MirrorRecord r, RedirectorOptions options) =>
        new(r.QuotaBytes, (r.BurstPercent >= 0 ? r.BurstPercent : options.QuotaBurstPercent) / 100, options.QuotaCeilingPercent / 100)
        {
            BillingDay = r.BillingDay,
        };

    /// <summary>
    /// A mirror that would be serving but for its heartbeat: approved, enabled, not draining, passing health
    /// checks, synced to some serial, with a URL (quota and capacity do not matter here).
    /// </summary>
    public static bool WouldServe(MirrorRecord r) =>
        Standing(r, spareBps: 1, heartbeatPanic: true) is Exclusion.None or Exclusion.OverQuota or Exclusion.Paced or Exclusion.Full
        && r.Serial > 0 && (r.HttpUrl.Length > 0 || r.HttpsUrl.Length > 0);

    /// <summary>Whether the mirror has a base URL for the request's scheme.</summary>
    public static bool SpeaksScheme(MirrorRecord r, bool https) => (https ? r.HttpsUrl : r.HttpUrl).Length > 0;

    /// <summary>Synced at or past the serial where the file last changed (per-file freshness).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Fresh(long serial, FileEntry file) => serial >= file.ChangedAt;

    /// <summary>
    /// The first seconds of a staged release: a mirror that holds the verified ciphertext of a file released from staging
    /// counts as synced for that file (it decrypts locally, with nothing to download, and its server waits for that rather
    /// than answer 404: mirror/Staging/ReleaseWaits), until it reports the file's serial. Only for a file the origin's
    /// signed staging list names as released with the manifest's own hash (<see cref="ReleaseWatch"/>), only within
    /// <see cref="ReleaseCurrent"/>, and every other rule still applies: the tables hold only mirrors without a standing
    /// exclusion, and set, scheme and scope are checked as for any file.
    /// </summary>
    public static bool HoldsRelease(MirrorRecord r, string stagedId, FileEntry file) => !Fresh(r.Serial, file) && r.HoldsStaged(stagedId);

    /// <summary>Whether a release is recent enough for <see cref="HoldsRelease"/> (<see cref="RedirectorOptions.StagedReleaseSeconds"/> since this redirector saw it).</summary>
    public static bool ReleaseCurrent(StagedRelease release, RedirectorOptions options, DateTimeOffset now) =>
        now - release.Since < TimeSpan.FromSeconds(options.StagedReleaseSeconds);

    /// <summary>The serial a mirror counts as synced at for <paramref name="file"/>: its own, or the file's while it holds its release.</summary>
    public static long SerialFor(RoutingSnapshot snapshot, MirrorRecord r, FileEntry file) =>
        snapshot.Releases.Count != 0 && snapshot.Releases.TryGetValue(file, out var overlay) && overlay.Holders.Contains(r.Id)
            ? Math.Max(r.Serial, file.ChangedAt)
            : r.Serial;

    /// <summary>Carries the file's set: by the set bit when the file has one, else by name.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Carries(ulong setMask, FileEntry file, MirrorRecord r) =>
        file.SetBit != 0 ? (setMask & file.SetBit) != 0 : r.Carries(file.Set);

    /// <summary>
    /// <see cref="Fresh"/> and <see cref="Carries"/> for a vector of table rows at once (all bits set where
    /// both hold): the redirect path's pass over the table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<long> FreshAndCarries(Vector<long> serial, Vector<ulong> setMask, Vector<long> changedAt, Vector<ulong> setBit) =>
        Vector.GreaterThanOrEqual(serial, changedAt) & ~Vector.Equals(setMask & setBit, Vector<ulong>.Zero).As<ulong, long>();

    /// <summary>Whether a country- or continent-scoped mirror serves this client; a client of unknown country is out.</summary>
    public static bool InScope(MirrorRecord mirror, in ClientLocation client) => mirror.Scope switch
    {
        MirrorScope.Country => client.Country.Length > 0 && string.Equals(mirror.Country, client.Country, StringComparison.OrdinalIgnoreCase),
        MirrorScope.Continent => client.Continent.Length > 0 && string.Equals(mirror.Continent, client.Continent, StringComparison.OrdinalIgnoreCase),
        _ => true,
    };

    /// <summary>
    /// Room left by our own estimate: the reported spare less this redirector's own redirects since that
    /// report (<see cref="AssignedLoad"/>), as the lottery weight now. A mirror without it is full until
    /// its next report, and the lottery skips it while another candidate has room.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HasRoomNow(double weightNow) => weightNow > 0;

    /// <summary>
    /// The same rules as <see cref="MirrorSelector.Select"/>, spelled out per mirror with the first reason
    /// that applies, for the mirror list. Not on the redirect path.
    /// </summary>
    /// <param name="estimated">
    /// Whether our own redirects since the mirror's last report count (the usual case); without them only
    /// the reported figures do, as in <see cref="MirrorSelector.Select"/>'s last resort when every candidate
    /// is full by the estimate.
    /// </param>
    public static Exclusion Check(RoutingSnapshot snapshot, MirrorEntry mirror, FileEntry file, in ClientLocation client, bool https,
        bool estimated = true)
    {
        var standing = Standing(snapshot, mirror);
        if (standing != Exclusion.None)
            return standing;
        // Spare when it reported, but taken since by our own redirects: full until its next report.
        if (estimated && !HasRoomNow(mirror.LotteryWeightNow))
            return Exclusion.Full;
        var r = mirror.Record;
        if (!SpeaksScheme(r, https))
            return Exclusion.Scheme;
        if (!r.Carries(file.Set))
            return Exclusion.MissingSet;
        if (!Fresh(SerialFor(snapshot, r, file), file))
            return Exclusion.Stale;
        if (!InScope(r, client))
            return Exclusion.OutOfScope;
        return Exclusion.None;
    }
}
