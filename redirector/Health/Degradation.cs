namespace Downloads.Redirector.Health;

/// <summary>What every <see cref="IDegradationSource"/> says now: the one place <c>/-/health</c> and the metrics read it.</summary>
internal static class Degradation
{
    /// <summary>The reasons reported now, in registration order; empty when the redirector is not degraded.</summary>
    public static string[] Reasons(IEnumerable<IDegradationSource> sources)
    {
        List<string>? reasons = null;
        foreach (var source in sources)
        {
            if (source.DegradedReason is { } reason)
                (reasons ??= []).Add(reason);
        }
        return reasons is null ? [] : [.. reasons];
    }
}
