using System.Text.Json;
using System.Text.Json.Serialization;

namespace Downloads.Contracts.Manifests;

/// <summary>Reads and writes the manifest JSON. Writing is canonical so the same manifest signs the same.</summary>
public static class ManifestCodec
{
    /// <summary>The newest format version this code understands.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Serialises <paramref name="manifest"/> to UTF-8 JSON.</summary>
    public static byte[] Serialize(Manifest manifest) =>
        JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJsonContext.Default.Manifest);

    /// <summary>
    /// Parses manifest bytes with <see cref="ManifestReader"/>'s rules. Returns null and a one-line reason when
    /// the document is malformed, of an unknown version, names a path that is not a clean relative path, or
    /// has a size, hash or chunk list that is not in its exact form.
    /// </summary>
    public static Manifest? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        var files = new List<ManifestFile>();
        if (!ManifestReader.TryRead(json, entry => files.Add(ToFile(entry)), out var header, out error))
            return null;
        return new Manifest
        {
            Version = header.Version,
            Serial = header.Serial,
            Published = header.Published,
            Expires = header.Expires,
            ChunkSize = header.ChunkSize,
            Files = files,
            Folders = header.Folders,
        };
    }

    private static ManifestFile ToFile(ManifestEntry entry)
    {
        var chunks = new string[entry.ChunkCount];
        for (var i = 0; i < chunks.Length; i++)
            chunks[i] = Convert.ToHexStringLower(entry.Chunk(i));
        return new ManifestFile
        {
            Path = entry.Path,
            Size = entry.Size,
            Sha256 = Convert.ToHexStringLower(entry.Sha256),
            ChangedAt = entry.ChangedAt,
            Modified = entry.Modified,
            Chunks = chunks,
        };
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(Manifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
