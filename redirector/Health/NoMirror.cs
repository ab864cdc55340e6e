using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Health;

/// <summary>
/// Degraded while the routing table holds no mirror a client could be sent to, over http or https: every answer is
/// then the origin or a fallback (issue #15 §7). A redirector that can still answer stays in the load balancer, so
/// <c>/-/health</c> keeps 200 and says why.
/// </summary>
internal sealed class NoMirror(SnapshotHolder holder) : IDegradationSource
{
    /// <summary>The reason reported.</summary>
    public const string Reason = "no mirror: every client goes to the origin or a fallback";

    /// <inheritdoc />
    public string? DegradedReason
    {
        get
        {
            var s = holder.Current;
            return s.Index.IsLoaded && s.Http.Count + s.Https.Count == 0 ? Reason : null;
        }
    }
}
