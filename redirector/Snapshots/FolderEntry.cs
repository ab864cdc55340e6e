using Downloads.Contracts.Checksums;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// A folder that gets a generated <c>SHA256SUMS</c> (<see cref="Sha256Sums.Folders"/>): its files and the origin's
/// signature of the list. The list is built on its first request and kept, like <see cref="FileEntry"/>'s digest
/// headers: up front it would be ~100 bytes a file (~10 MB at 100,000 files) that few folders ever need.
/// </summary>
internal sealed class FolderEntry
{
    private byte[]? _sums;

    /// <summary>0 not checked yet, 1 the signature verifies against the list, -1 it does not.</summary>
    private int _signatureState;

    /// <summary>The folder's path, e.g. <c>noobs</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The files directly in the folder.</summary>
    public required FileEntry[] Files { get; init; }

    /// <summary>The origin's minisign signature of the list, or null when the manifest has none for this folder (an older origin).</summary>
    public string? Signature { get; init; }

    /// <summary>The folder's <c>SHA256SUMS</c>, the bytes the origin signed; built on first use, racing first uses keep one array.</summary>
    public byte[] Sums => _sums ?? Interlocked.CompareExchange(ref _sums, Build(Files), null) ?? _sums;

    /// <summary>
    /// Whether <see cref="Signature"/> verifies against <see cref="Sums"/> and <paramref name="publicKey"/>; checked once.
    /// A list rebuilt here that differs from what the origin signed (origin and redirector of different versions) must
    /// not be served with a signature that fails for every user.
    /// </summary>
    public bool SignatureVerifies(string publicKey, out bool firstCheck)
    {
        firstCheck = false;
        var state = Volatile.Read(ref _signatureState);
        if (state != 0)
            return state > 0;
        var verifies = Signature is not null && Minisign.Verify(Sums, Signature, publicKey);
        firstCheck = Interlocked.CompareExchange(ref _signatureState, verifies ? 1 : -1, 0) == 0;
        return verifies;
    }

    private static byte[] Build(FileEntry[] files)
    {
        var entries = new (string Path, byte[] Sha256)[files.Length];
        for (var i = 0; i < files.Length; i++)
            entries[i] = (files[i].Path, files[i].Hashes);
        return Sha256Sums.Build(entries);
    }
}
