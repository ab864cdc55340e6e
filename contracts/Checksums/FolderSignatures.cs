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
            var raw = Minisign.SignRaw(sums, key, Sha256Sums.TrustedComment(path, serial, published));
            signed.Add(new ManifestFolder { Path = path, SumsSignature = Convert.ToBase64String(raw) });
        }
        return signed;
    }

    /// <summary>
    /// The <c>SHA256SUMS.minisig</c> of <paramref name="folder"/> made again from the manifest's raw signature: the key id
    /// comes from the public key and the trusted comment from the folder and the manifest's serial and publication time,
    /// exactly as <see cref="Sign"/> made them. Null when <paramref name="publicKeyBase64"/> is not a key.
    /// </summary>
    public static string? SignatureFile(string folder, ReadOnlySpan<byte> raw, string publicKeyBase64, long serial, DateTimeOffset published)
    {
        Span<byte> key = stackalloc byte[32];
        if (!Convert.TryFromBase64String(publicKeyBase64.Trim(), key, out var written) || written != key.Length)
            return null;
        return Minisign.File(raw, Minisign.KeyId(key), Sha256Sums.TrustedComment(folder, serial, published));
    }

    /// <summary>Decodes a manifest's <see cref="ManifestFolder.SumsSignature"/>; null unless it is base64 of exactly <see cref="Minisign.RawLength"/> bytes.</summary>
    public static byte[]? Decode(string sumsSignature)
    {
        var raw = new byte[Minisign.RawLength];
        return sumsSignature.Length == 4 * ((Minisign.RawLength + 2) / 3)
            && Convert.TryFromBase64String(sumsSignature, raw, out var written) && written == raw.Length ? raw : null;
    }
}
