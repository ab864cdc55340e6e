namespace Downloads.Redirector.Membership;

/// <summary>Outcome of a membership operation; expected failures are values, not exceptions.</summary>
public enum MembershipError
{
    /// <summary>Done.</summary>
    None,
    /// <summary>The id is not 1–48 lower-case letters, digits or '-'.</summary>
    InvalidId,
    /// <summary>The token is unknown, already used or expired.</summary>
    InvalidToken,
    /// <summary>A mirror with this id already exists.</summary>
    IdTaken,
    /// <summary>The declared info is unusable (e.g. no valid URL).</summary>
    InvalidInfo,
    /// <summary>No such mirror.</summary>
    NotFound,
    /// <summary>The Redis user may not manage ACL users: run the operation on the ops path with the admin user.</summary>
    NeedsOpsPath,
}

/// <summary>Result of a membership operation with a one-line reason on failure.</summary>
/// <typeparam name="T">The value on success.</typeparam>
public readonly record struct MembershipResult<T>(MembershipError Error, string Reason, T? Value)
{
    /// <summary>Whether it succeeded.</summary>
    public bool Ok => Error == MembershipError.None;
}

/// <summary>Factory of <see cref="MembershipResult{T}"/>.</summary>
public static class MembershipResult
{
    /// <summary>A success.</summary>
    public static MembershipResult<T> Success<T>(T value) => new(MembershipError.None, "", value);

    /// <summary>A failure.</summary>
    public static MembershipResult<T> Fail<T>(MembershipError error, string reason) => new(error, reason, default);
}
