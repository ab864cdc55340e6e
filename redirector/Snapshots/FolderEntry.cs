using System.Text;
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
    private byte[]? _signatureFile;

    /// <summary>0 not checked yet, 1 the signature verifies against the list, -1 it does not.</summary>
    private int _signatureState;

    /// <summary>The folder's path, e.g. <c>noobs</c>.</summary>
    public required string Path { get; init; }

    /// <summary>The files directly in the folder.</summary>
    public required FileEntry[] Files { get; init; }

    /// <summary>
    /// The origin's two signatures of the list (<see cref="Minisign.RawLength"/> bytes; the rest of the signature file is
    /// rebuilt on first request), or null when the manifest has none for this folder (an older origin).
    /// </summary>
    public byte[]? Signature { get; init; }

    /// <summary>The folder's <c>SHA256SUMS</c>, the bytes the origin signed; built on first use, racing first uses keep one array.</summary>
    public byte[] Sums => _sums ?? Interlocked.CompareExchange(ref _sums, Build(Files), null) ?? _sums;

    /// <summary>
    /// The <c>SHA256SUMS.minisig</c> file (UTF-8) when it verifies against <see cref="Sums"/> and <paramref name="publicKey"/>;
    /// null when it does not, or there is none. Built and checked once: a list rebuilt here that differs from what the
    /// origin signed (origin and redirector of different versions) must not be served with a signature that fails for
    /// every user. <paramref name="firstCheck"/> is true for the one call that found it failing.
    /// </summary>
    public byte[]? VerifiedSignatureFile(string publicKey, long serial, DateTimeOffset published, out bool firstCheck)
    {
        firstCheck = false;
        var state = Volatile.Read(ref _signatureState);
        if (state != 0)
            return state > 0 ? _signatureFile : null;
        var file = Signature is null ? null : FolderSignatures.SignatureFile(Path, Signature, publicKey, serial, published);
        var verifies = file is not null && Minisign.Verify(Sums, file, publicKey);
        if (verifies)
            Volatile.Write(ref _signatureFile, Encoding.UTF8.GetBytes(file!));
        firstCheck = Interlocked.CompareExchange(ref _signatureState, verifies ? 1 : -1, 0) == 0 && !verifies;
        return verifies ? _signatureFile : null;
    }

    private static byte[] Build(FileEntry[] files)
    {
        var entries = new (string Path, byte[] Sha256)[files.Length];
        for (var i = 0; i < files.Length; i++)
            entries[i] = (files[i].Path, files[i].Hashes);
        return Sha256Sums.Build(entries);
    }
}
