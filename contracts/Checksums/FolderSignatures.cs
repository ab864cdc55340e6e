using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Checksums;

/// <summary>
/// Signs each folder's generated <c>SHA256SUMS</c> (<see cref="Sha256Sums"/>) for the manifest. The redirector serves
/// those lists itself but holds no private key, so the origin signs them when it publishes and the signatures travel in
/// the signed manifest (<see cref="Manifest.Folders"/>); the redirector rebuilds the identical bytes from its index.
/// </summary>
public static class FolderSignatures
{
    /// <summary>A minisign signature for each folder that gets a generated list, by ordinal folder path.</summary>
    public static List<ManifestFolder> Sign(IReadOnlyList<ManifestFile> files, string privateKeyBase64, long serial, DateTimeOffset published)
    {
        var folders = Sha256Sums.Folders(files, static f => f.Path);
        var paths = folders.Keys.ToArray();
        Array.Sort(paths, StringComparer.Ordinal);
        using var key = ManifestSigner.ImportPrivateKey(privateKeyBase64);
        var signed = new List<ManifestFolder>(paths.Length);
        foreach (var path in paths)
        {
            var members = folders[path];
            var entries = new (string Path, byte[] Sha256)[members.Count];
            for (var i = 0; i < entries.Length; i++)
                entries[i] = (members[i].Path, Convert.FromHexString(members[i].Sha256));
            var sums = Sha256Sums.Build(entries);
            signed.Add(new ManifestFolder { Path = path, SumsSignature = Minisign.Sign(sums, key, Sha256Sums.TrustedComment(path, serial, published)) });
        }
        return signed;
    }
}
