using System.Text;

namespace Downloads.Contracts.Checksums;

/// <summary>
/// The checksum files people verify downloads with (<c>sha256sum -c</c>), generated from the signed manifest: a
/// <c>{file}.sha256</c> beside each file and a <c>SHA256SUMS</c> per folder. The one home of their bytes: the origin
/// signs a folder's <c>SHA256SUMS</c> and the redirector, which has no private key, serves the same bytes rebuilt from
/// its index with that signature, so both must build them exactly alike.
/// </summary>
public static class Sha256Sums
{
    /// <summary>Name of a folder's checksum list.</summary>
    public const string FolderFileName = "SHA256SUMS";

    /// <summary>Suffix of a file's own checksum file.</summary>
    public const string FileSuffix = ".sha256";

    /// <summary>Suffix of a detached minisign signature.</summary>
    public const string SignatureSuffix = ".minisig";

    /// <summary>Bytes of a SHA-256.</summary>
    public const int HashLength = 32;

    /// <summary>
    /// Trusted comment of a folder's signature: minisign prints it when the signature verifies, so it names the file the
    /// signature is for and the manifest serial it comes from.
    /// </summary>
    public static string TrustedComment(string folder, long serial, DateTimeOffset published) =>
        $"timestamp:{published.ToUnixTimeSeconds()}\tfile:{folder}/{FolderFileName}\tserial:{serial}\thashed";

    /// <summary>The folder of a manifest path: everything before its last '/' (empty for a path without one).</summary>
    public static ReadOnlySpan<char> FolderOf(ReadOnlySpan<char> path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? [] : path[..slash];
    }

    /// <summary>The file name of a manifest path: everything after its last '/'.</summary>
    public static ReadOnlySpan<char> NameOf(ReadOnlySpan<char> path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>
    /// One <c>sha256sum</c> line: lower-case hex, two spaces (text mode), the file's name, a newline. Manifest paths hold
    /// no control character or backslash (<see cref="Manifests.ManifestPaths.IsValid"/>), so no name needs sha256sum's escaping.
    /// </summary>
    public static byte[] Line(ReadOnlySpan<byte> sha256, ReadOnlySpan<char> name)
    {
        var bytes = new byte[LineLength(name)];
        WriteLine(bytes, sha256, name);
        return bytes;
    }

    /// <summary>
    /// A folder's <c>SHA256SUMS</c>: a line for each file directly in it, by ordinal name. <paramref name="files"/> are
    /// manifest paths of one folder, each with a buffer that starts with its SHA-256 (anything after is ignored), in any order.
    /// </summary>
    public static byte[] Build(IReadOnlyList<(string Path, byte[] Sha256)> files)
    {
        var order = new int[files.Count];
        var length = 0;
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            length += LineLength(NameOf(files[i].Path));
        }
        Array.Sort(order, (a, b) => NameOf(files[a].Path).CompareTo(NameOf(files[b].Path), StringComparison.Ordinal));
        var bytes = new byte[length];
        var at = 0;
        foreach (var i in order)
            at += WriteLine(bytes.AsSpan(at), files[i].Sha256, NameOf(files[i].Path));
        return bytes;
    }

    /// <summary>
    /// Which folders get a generated <c>SHA256SUMS</c>, with their files: every folder with a file directly in it, except
    /// one whose own <c>SHA256SUMS</c> is in the manifest (a real file wins over a generated one). The one home of that
    /// rule: the origin signs these folders and the redirector serves these.
    /// </summary>
    public static Dictionary<string, List<T>> Folders<T>(IEnumerable<T> files, Func<T, string> pathOf)
    {
        var folders = new Dictionary<string, List<T>>(StringComparer.Ordinal);
        var lookup = folders.GetAlternateLookup<ReadOnlySpan<char>>();
        HashSet<string>? own = null;
        foreach (var file in files)
        {
            var path = pathOf(file);
            var folder = FolderOf(path);
            if (NameOf(path) is FolderFileName)
                (own ??= new(StringComparer.Ordinal)).Add(folder.ToString());
            if (!lookup.TryGetValue(folder, out var list))
                lookup[folder] = list = [];
            list.Add(file);
        }
        foreach (var folder in own ?? [])
            folders.Remove(folder);
        return folders;
    }

    private static int LineLength(ReadOnlySpan<char> name) => 2 * HashLength + 2 + Encoding.UTF8.GetByteCount(name) + 1;

    private static int WriteLine(Span<byte> destination, ReadOnlySpan<byte> sha256, ReadOnlySpan<char> name)
    {
        Convert.TryToHexStringLower(sha256[..HashLength], destination, out var at);
        destination[at++] = (byte)' ';
        destination[at++] = (byte)' ';
        at += Encoding.UTF8.GetBytes(name, destination[at..]);
        destination[at++] = (byte)'\n';
        return at;
    }
}
