using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Snapshots;

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

    /// <summary>Mirrors that would serve but for their heartbeat (<see cref="Eligibility.WouldServe"/>), and how many of them have none.</summary>
    public static HeartbeatCount Count(IReadOnlyList<MirrorRecord> records)
    {
        int serving = 0, silent = 0;
        foreach (var r in records)
        {
            if (!Eligibility.WouldServe(r))
                continue;
            serving++;
            if (!r.Alive)
                silent++;
        }
        return new HeartbeatCount(serving, silent);
    }

    /// <summary>Whether more than <paramref name="percent"/> % of the mirrors that would serve have no heartbeat (0 = never).</summary>
    public static bool IsOn(IReadOnlyList<MirrorRecord> records, int percent) => percent > 0 && IsOn(Count(records), percent);

    /// <summary>Whether more than <paramref name="percent"/> % of <paramref name="count"/>'s serving mirrors are silent (0 = never).</summary>
    public static bool IsOn(HeartbeatCount count, int percent) =>
        percent > 0 && count.Serving >= MinServing && count.Silent * 100L > count.Serving * (long)percent;
}
