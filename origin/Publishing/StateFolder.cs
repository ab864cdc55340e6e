using System.Globalization;
using System.Text;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;

namespace Downloads.Origin.Publishing;

/// <summary>
/// On-disk layout of published serials. Manifest and signature of a serial are written first as
/// <c>manifests/{serial}.json</c> and <c>.json.sig</c>; then the one-line pointer file <c>current</c>
/// is renamed into place. Readers go through the pointer, so they see manifest and signature of the
/// same serial or the previous pair, never a mix.
/// </summary>
public sealed class StateFolder(string path)
{
    /// <summary>The folder.</summary>
    public string Path { get; } = path;

    /// <summary>The pointer file naming the current serial.</summary>
    public string PointerPath => System.IO.Path.Combine(Path, "current");

    /// <summary>The per-file hash cache.</summary>
    public string HashCachePath => System.IO.Path.Combine(Path, "hashcache.json");

    private string ManifestPath(long serial) => System.IO.Path.Combine(Path, "manifests", serial.ToString(CultureInfo.InvariantCulture) + ".json");

    /// <summary>The current serial, or 0 when nothing was published yet.</summary>
    public long ReadCurrentSerial()
    {
        try
        {
            var text = File.ReadAllText(PointerPath).Trim();
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var serial) ? serial : 0;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>Loads a published serial, or null when it is missing or unreadable (with the reason).</summary>
    public PublishedState? Load(long serial, out string? error)
    {
        if (serial <= 0)
        {
            error = "nothing published yet";
            return null;
        }
        try
        {
            var bytes = File.ReadAllBytes(ManifestPath(serial));
            var sig = File.ReadAllBytes(ManifestPath(serial) + ".sig");
            var manifest = ManifestCodec.TryParse(bytes, out error);
            return manifest is null ? null : new PublishedState(manifest, bytes, sig);
        }
        catch (IOException ex)
        {
            error = $"serial {serial} cannot be read: {ex.Message}";
            return null;
        }
    }

    /// <summary>Writes a signed serial and swaps the pointer to it; prunes all but the newest <paramref name="keep"/> serials.</summary>
    public async Task WriteAsync(long serial, byte[] manifestBytes, string signature, int keep, CancellationToken cancellationToken)
    {
        var manifestPath = ManifestPath(serial);
        await AtomicFile.WriteAllBytesAsync(manifestPath, manifestBytes, cancellationToken);
        await AtomicFile.WriteAllBytesAsync(manifestPath + ".sig", Encoding.ASCII.GetBytes(signature), cancellationToken);
        await AtomicFile.WriteAllBytesAsync(PointerPath, Encoding.ASCII.GetBytes(serial.ToString(CultureInfo.InvariantCulture) + "\n"), cancellationToken);
        Prune(serial - keep);
    }

    private void Prune(long olderThanOrAt)
    {
        var dir = System.IO.Path.Combine(Path, "manifests");
        foreach (var file in Directory.EnumerateFiles(dir))
        {
            var name = System.IO.Path.GetFileName(file);
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && long.TryParse(name.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s <= olderThanOrAt)
                File.Delete(file);
        }
    }
}
