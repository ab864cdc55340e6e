using System.Text.Json.Serialization;

namespace Downloads.Origin.Staging;

/// <summary>
/// The origin's private record of one staged file, kept as <c>{StateDir}/staging/{id}.json</c> (mode 0600: it holds the
/// key). Nothing here leaves the origin before the release time but what <see cref="Contracts.Staging.StagedFile"/> carries.
/// </summary>
public sealed record StagedRecord
{
    /// <summary>Opaque id.</summary>
    public required string Id { get; init; }

    /// <summary>The manifest path the file gets at release.</summary>
    public required string Path { get; init; }

    /// <summary>When it becomes public (UTC).</summary>
    public DateTimeOffset ReleaseAt { get; init; }

    /// <summary>Base64 AES-256-GCM key.</summary>
    public required string Key { get; init; }

    /// <summary>Plaintext size.</summary>
    public long PlainSize { get; init; }

    /// <summary>Plaintext SHA-256 (lower-case hex).</summary>
    public required string Sha256 { get; init; }

    /// <summary>Plaintext chunk size used for the ciphertext.</summary>
    public int ChunkSize { get; init; }

    /// <summary>Ciphertext size.</summary>
    public long CipherSize { get; init; }

    /// <summary>SHA-256 of each ciphertext chunk.</summary>
    public IReadOnlyList<string> CipherChunks { get; init; } = [];

    /// <summary>When it was released; null while staged.</summary>
    public DateTimeOffset? ReleasedAt { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StagedRecord))]
internal sealed partial class StagedRecordJsonContext : JsonSerializerContext;
