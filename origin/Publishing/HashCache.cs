using System.Text.Json;
using System.Text.Json.Serialization;
using Downloads.Contracts.Hosting;

namespace Downloads.Origin.Publishing;

/// <summary>
/// What was hashed last time, keyed by path: a file whose size and mtime are unchanged is not
/// read again, so publishing a tree of large images after one edit costs one file's hashing.
/// </summary>
internal sealed class HashCache
{
    public Dictionary<string, CachedHash> Entries { get; init; } = new(StringComparer.Ordinal);

    public static HashCache Load(string path)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            var entries = JsonSerializer.Deserialize(bytes, HashCacheJsonContext.Default.DictionaryStringCachedHash);
            return new HashCache { Entries = entries is null ? new(StringComparer.Ordinal) : new(entries, StringComparer.Ordinal) };
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            // A missing or damaged cache only costs a full re-hash.
            return new HashCache();
        }
    }

    public Task SaveAsync(string path, CancellationToken cancellationToken) =>
        AtomicFile.WriteAllBytesAsync(path, JsonSerializer.SerializeToUtf8Bytes(Entries, HashCacheJsonContext.Default.DictionaryStringCachedHash), cancellationToken);
}

/// <summary>One cached hash result, valid while size, mtime and chunk size match.</summary>
internal sealed record CachedHash(long Size, long MtimeTicks, int ChunkSize, string Sha256, IReadOnlyList<string> Chunks);

[JsonSerializable(typeof(Dictionary<string, CachedHash>))]
internal sealed partial class HashCacheJsonContext : JsonSerializerContext;
