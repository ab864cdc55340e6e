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
    /// Parses manifest bytes. Returns null and a one-line reason when the document is malformed,
    /// of an unknown version, or names a path that is not a clean relative path.
    /// </summary>
    public static Manifest? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ManifestJsonContext.Default.Manifest);
        }
        catch (JsonException ex)
        {
            error = $"manifest is not valid JSON: {ex.Message}";
            return null;
        }
        if (manifest is null)
        {
            error = "manifest is empty";
            return null;
        }
        if (manifest.Version != CurrentVersion)
        {
            error = $"manifest version {manifest.Version} is not supported (expected {CurrentVersion})";
            return null;
        }
        if (manifest.ChunkSize <= 0)
        {
            error = "manifest chunk size must be positive";
            return null;
        }
        foreach (var file in manifest.Files)
        {
            if (!ManifestPaths.IsValid(file.Path) || ManifestPaths.SetOf(file.Path).Length == 0)
            {
                error = $"manifest names an invalid path '{file.Path}'";
                return null;
            }
            var expectedChunks = file.Size == 0 ? 0 : (file.Size + manifest.ChunkSize - 1) / manifest.ChunkSize;
            if (file.Size < 0 || file.Chunks.Count != expectedChunks || file.Sha256.Length != 64)
            {
                error = $"manifest entry '{file.Path}' has inconsistent size, hash or chunk list";
                return null;
            }
        }
        error = null;
        return manifest;
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(Manifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
