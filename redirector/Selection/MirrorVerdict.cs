using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Selection;

/// <summary>
/// One mirror as judged for one request (mirror list and JSON): <see cref="Near"/> when it is in the lottery,
/// <see cref="Chance"/> its probability of being the target.
/// </summary>
internal readonly record struct MirrorVerdict(
    MirrorEntry Mirror, double DistanceKm, bool SameAsn, Exclusion Exclusion, double Key, bool Near, double Chance);
