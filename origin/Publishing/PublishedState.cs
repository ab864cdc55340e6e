using Downloads.Contracts.Manifests;

namespace Downloads.Origin.Publishing;

/// <summary>One published serial as served: the exact signed bytes and a path index.</summary>
public sealed class PublishedState
{
    /// <summary>Creates the state, indexing files by path.</summary>
    public PublishedState(Manifest manifest, byte[] manifestBytes, byte[] signatureBytes)
    {
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        SignatureBytes = signatureBytes;
        var files = new Dictionary<string, ManifestFile>(manifest.Files.Count, StringComparer.Ordinal);
        foreach (var file in manifest.Files)
            files[file.Path] = file;
        Files = System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(files, StringComparer.Ordinal);
    }

    /// <summary>The manifest.</summary>
    public Manifest Manifest { get; }

    /// <summary>Its bytes as signed.</summary>
    public byte[] ManifestBytes { get; }

    /// <summary>The base64 detached signature, as ASCII bytes.</summary>
    public byte[] SignatureBytes { get; }

    /// <summary>Files by path.</summary>
    public System.Collections.Frozen.FrozenDictionary<string, ManifestFile> Files { get; }
}
