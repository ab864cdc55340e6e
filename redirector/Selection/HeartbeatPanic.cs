using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Selection;

/// <summary>
/// Panic threshold for heartbeats (Envoy's "panic mode", applied to reporting): when more than
/// <see cref="RedirectorOptions.HeartbeatPanicPercent"/> of the mirrors that were serving have lost their
/// heartbeat at the same time, the likelier cause is the reporting path — a Redis failover, whose new master
/// drops every heartbeat that expired while no one could write, or a network cut between the mirrors and
/// Redis — not half the network dying at once. Excluding them all would send the whole load to the origin,
/// the one host the network exists to protect, and the health checker would then hold each of them out for
/// several rounds. So while the threshold is passed a missing heartbeat alone excludes nobody: the redirector
/// goes on with the mirrors' last known state, and the active health probes (which then probe these mirrors
/// instead of failing them for the lost heartbeat) remain what takes a really dead mirror out. One or a few
/// mirrors losing their heartbeat is the normal case and excludes them at once, as before. Bounded: off
/// without health probes, and at most <see cref="RedirectorOptions.HeartbeatPanicMaxSeconds"/> long.
/// </summary>
internal static class HeartbeatPanic
{
    /// <summary>Below this many serving mirrors the rule never applies: two of three down is not a pattern.</summary>
    public const int MinServing = 3;

    /// <summary>
    /// A mirror that would be serving but for its heartbeat: approved, enabled, not draining, passing health
    /// checks, synced to some serial, with a URL.
    /// </summary>
    public static bool WouldServe(MirrorRecord r) =>
        r.Status == MirrorStatus.Approved && r.Enabled && r.Weight > 0 && !r.Draining && r.Healthy && r.Serial > 0
        && (r.HttpUrl.Length > 0 || r.HttpsUrl.Length > 0);

    /// <summary>Whether more than <paramref name="percent"/> % of the mirrors that would serve have no heartbeat (0 = never).</summary>
    public static bool IsOn(IReadOnlyList<MirrorRecord> records, int percent)
    {
        if (percent <= 0)
            return false;
        int serving = 0, silent = 0;
        foreach (var r in records)
        {
            if (!WouldServe(r))
                continue;
            serving++;
            if (!r.Alive)
                silent++;
        }
        return serving >= MinServing && silent * 100L > serving * (long)percent;
    }
}
