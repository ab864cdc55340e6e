using System.Text.Json;
using System.Text.Json.Serialization;

namespace Downloads.Contracts.Staging;

/// <summary>
/// The origin's signed list of staged (not yet public) files, served at <see cref="StagingDefaults.ListPath"/> and
/// signed detached with the manifest's Ed25519 key. Staged files are named only by opaque ids: the list carries
/// ciphertext sizes and ciphertext chunk hashes, never a name, plaintext hash or release time. Once a file is
/// released its id moves to <see cref="Released"/> with its path, plaintext SHA-256 and key, so a mirror holding
/// the ciphertext decrypts locally instead of downloading.
/// </summary>
public sealed record StagingList
{
    /// <summary>Format version.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Monotonically increasing number of this list.</summary>
    public long Serial { get; init; }

    /// <summary>Staged files, sorted by id.</summary>
    public IReadOnlyList<StagedFile> Staged { get; init; } = [];

    /// <summary>Recently released files, sorted by id.</summary>
    public IReadOnlyList<ReleasedFile> Released { get; init; } = [];
}

/// <summary>One staged file as mirrors see it.</summary>
public sealed record StagedFile
{
    /// <summary>Opaque id: 32 lower-case hex digits (<see cref="StagingDefaults.IsValidId"/>).</summary>
    public required string Id { get; init; }

    /// <summary>Ciphertext size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>Ciphertext chunk size: the plaintext chunk size plus the 16-byte tag (the last chunk may be shorter).</summary>
    public int ChunkSize { get; init; }

    /// <summary>Lower-case hex SHA-256 of each ciphertext chunk.</summary>
    public IReadOnlyList<string> Chunks { get; init; } = [];
}

/// <summary>A released file: what a mirror needs to turn its ciphertext into the published file.</summary>
public sealed record ReleasedFile
{
    /// <summary>The opaque id it was staged under.</summary>
    public required string Id { get; init; }

    /// <summary>Its manifest path.</summary>
    public required string Path { get; init; }

    /// <summary>Lower-case hex SHA-256 of the plaintext (the manifest entry's).</summary>
    public required string Sha256 { get; init; }

    /// <summary>Base64 of the 32-byte AES-256-GCM key.</summary>
    public required string Key { get; init; }
}

/// <summary>Constants and validation of the staging format.</summary>
public static class StagingDefaults
{
    /// <summary>Where the origin serves the signed staging list.</summary>
    public const string ListPath = "/-/staging.json";

    /// <summary>Its detached signature.</summary>
    public const string SignaturePath = "/-/staging.json.sig";

    /// <summary>Prefix of a staged ciphertext: <c>/-/staged/{id}</c>.</summary>
    public const string CiphertextPrefix = "/-/staged/";

    /// <summary>True when <paramref name="id"/> is exactly 32 lower-case hex digits.</summary>
    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.Length != 32)
            return false;
        foreach (var c in id)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
                return false;
        }
        return true;
    }

    /// <summary>Serialises a list (canonical: the same list signs the same).</summary>
    public static byte[] Serialize(StagingList list) => JsonSerializer.SerializeToUtf8Bytes(list, StagingJsonContext.Default.StagingList);

    /// <summary>Parses a list and checks every field to its exact form; null and a one-line reason otherwise.</summary>
    public static StagingList? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        StagingList? list;
        try
        {
            list = JsonSerializer.Deserialize(json, StagingJsonContext.Default.StagingList);
        }
        catch (JsonException ex)
        {
            error = $"staging list is not valid JSON: {ex.Message}";
            return null;
        }
        if (list is null || list.Version != 1 || list.Serial < 0)
        {
            error = "staging list has an unknown version or a negative serial";
            return null;
        }
        foreach (var f in list.Staged)
        {
            if (!IsValidId(f.Id) || f.Size < 0 || f.ChunkSize <= StagedCipher.TagSize
                || f.Chunks.Count != StagedCipher.ChunkCount(f.Size, f.ChunkSize) || !AllHex(f.Chunks))
            {
                error = $"staging list entry '{(IsValidId(f.Id) ? f.Id : "?")}' is malformed";
                return null;
            }
        }
        foreach (var f in list.Released)
        {
            if (!IsValidId(f.Id) || !Manifests.ManifestPaths.IsValid(f.Path) || !IsHex(f.Sha256)
                || !Convert.TryFromBase64String(f.Key, new byte[32], out var n) || n != StagedCipher.KeySize)
            {
                error = $"staging list released entry '{(IsValidId(f.Id) ? f.Id : "?")}' is malformed";
                return null;
            }
        }
        error = null;
        return list;
    }

    private static bool AllHex(IReadOnlyList<string> hashes)
    {
        foreach (var h in hashes)
        {
            if (!IsHex(h))
                return false;
        }
        return true;
    }

    private static bool IsHex(string h)
    {
        if (h.Length != 64)
            return false;
        foreach (var c in h)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
                return false;
        }
        return true;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(StagingList))]
internal sealed partial class StagingJsonContext : JsonSerializerContext;
