using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Health;

/// <summary>Degraded while the mirror table routed by came from <see cref="SavedState"/>: Redis has not answered since start.</summary>
internal sealed class SavedStateDegradation(SavedState saved) : IDegradationSource
{
    /// <summary>The reason reported.</summary>
    public const string Reason = "running from saved state: Redis has not answered since start";

    /// <inheritdoc />
    public string? DegradedReason => saved.RoutingFromSaved ? Reason : null;
}
