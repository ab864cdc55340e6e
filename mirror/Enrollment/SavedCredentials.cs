using System.Text.Json;

namespace Downloads.Mirror.Enrollment;

/// <summary>
/// The mirror's Redis credentials (its own password, the user enrollment named), kept in <c>{DataDir}/redis-credentials.json</c> (mode 0600)
/// so a restart needs no token. Written to a temporary file and renamed, so never half-written.
/// </summary>
public sealed record SavedCredentials
{
    /// <summary>File name inside the data folder.</summary>
    public const string FileName = "redis-credentials.json";

    /// <summary>Mirror id the credentials belong to.</summary>
    public required string Id { get; init; }
    /// <summary>ACL user, null with a shared user.</summary>
    public string? User { get; init; }
    /// <summary>The Redis password the mirror chose at enrollment; only its SHA-256 was ever sent.</summary>
    public string? Password { get; init; }
    /// <summary>The store has no per-key ACL: use the configured (shared) connection.</summary>
    public bool SharedUser { get; init; }
    /// <summary>The mirror's Ed25519 public key (its private key is in <c>mirror-identity.key</c>).</summary>
    public string? PublicKey { get; init; }

    /// <summary>Path of the file in <paramref name="dataDir"/>.</summary>
    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>Reads the saved credentials, or null when there are none.</summary>
    public static SavedCredentials? Load(string dataDir)
    {
        var path = PathIn(dataDir);
        if (!File.Exists(path))
            return null;
        return JsonSerializer.Deserialize<SavedCredentials>(File.ReadAllBytes(path))
            ?? throw new InvalidDataException($"{path} is empty; delete it and enroll again with a new token");
    }

    /// <summary>Saves atomically with owner-only permissions.</summary>
    public void Save(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = PathIn(dataDir);
        var temp = path + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        {
            JsonSerializer.Serialize(stream, this);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
