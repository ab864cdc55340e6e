namespace Downloads.Contracts.Mirrors;

/// <summary>Body of <c>POST /-/api/enroll</c>, sent once by a new mirror (docs/membership.md).</summary>
public sealed record EnrollRequest
{
    /// <summary>The id the mirror asks for.</summary>
    public required string Id { get; init; }
    /// <summary>The one-time token ops issued.</summary>
    public required string Token { get; init; }
    /// <summary>What the mirror declares about itself: the fields of its <c>info</c> hash.</summary>
    public Dictionary<string, string> Info { get; init; } = [];
    /// <summary>The mirror's Ed25519 public key (base64 of 32 bytes); its private key stays on the host.</summary>
    public string? PublicKey { get; init; }
    /// <summary>Lower-case hex SHA-256 of the Redis password the mirror chose; the password stays on the host.</summary>
    public string? PasswordSha256 { get; init; }
}

/// <summary>Answer to <see cref="EnrollRequest"/>: the Redis user the mirror will have once ops approve it (no secret: the mirror chose its password).</summary>
public sealed record EnrollResponse
{
    /// <summary>The enrolled id.</summary>
    public required string Id { get; init; }
    /// <summary>Always <c>pending</c>: ops approve before the mirror gets traffic.</summary>
    public string Status { get; init; } = "pending";
    /// <summary>The mirror's Redis ACL user (created by ops' approval from the password hash), or null when the store has no per-key ACL and mirrors share one user.</summary>
    public string? User { get; init; }
    /// <summary>True when the store refused per-key ACL rules: the mirror keeps the shared connection it was configured with.</summary>
    public bool SharedUser { get; init; }
}
