namespace Downloads.Redirector.Health;

/// <summary>A reason the redirector is degraded right now, or null when this source sees nothing wrong.</summary>
internal interface IDegradationSource
{
    /// <summary>A short reason for ops (<c>no mirror</c>, <c>manifest expired</c>...), or null.</summary>
    string? DegradedReason { get; }
}
