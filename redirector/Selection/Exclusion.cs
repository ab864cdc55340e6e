namespace Downloads.Redirector.Selection;

/// <summary>Why a mirror is not a candidate for a request; <see cref="None"/> when it is.</summary>
internal enum Exclusion : byte
{
    None,
    Pending,
    Disabled,
    Draining,
    Down,
    Unhealthy,
    Full,
    OverQuota,
    Paced,
    MissingSet,
    Stale,
    Scheme,
    OutOfScope,
}

internal static class ExclusionText
{
    /// <summary>Short lower-case reason shown in the mirror list.</summary>
    public static string Of(Exclusion exclusion) => exclusion switch
    {
        Exclusion.None => "",
        Exclusion.Pending => "pending",
        Exclusion.Disabled => "disabled",
        Exclusion.Draining => "draining",
        Exclusion.Down => "down",
        Exclusion.Unhealthy => "unhealthy",
        Exclusion.Full => "full",
        Exclusion.OverQuota => "over quota",
        Exclusion.Paced => "quota paced",
        Exclusion.MissingSet => "missing set",
        Exclusion.Stale => "stale",
        Exclusion.Scheme => "wrong scheme",
        Exclusion.OutOfScope => "out of scope",
        _ => exclusion.ToString(),
    };
}
