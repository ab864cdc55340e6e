using System.Text.Json.Serialization;
using Downloads.Contracts.Manifests;

namespace Downloads.Mirror.Storage;

/// <summary>
/// The persisted pointer to what is live: the exact signed manifest bytes, their signature and the
/// files kept for the delete grace period. Replaced as a whole by rename, so it always names a
/// verified serial whose objects are all on disk.
/// </summary>
internal sealed record LiveRecord
{
    public required string ManifestBase64 { get; init; }

    public required string Signature { get; init; }

    public List<RetiredFile> Retired { get; init; } = [];
}

/// <summary>A file deleted upstream, still served until <paramref name="Until"/>.</summary>
internal sealed record RetiredFile(ManifestFile File, DateTimeOffset Until);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LiveRecord))]
internal sealed partial class LiveRecordJsonContext : JsonSerializerContext;
