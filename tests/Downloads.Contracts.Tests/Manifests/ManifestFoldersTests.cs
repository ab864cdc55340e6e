using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Tests.Manifests;

/// <summary>The manifest's optional per-folder checksum signatures: written, read back, validated, absent from old manifests.</summary>
public class ManifestFoldersTests
{
    private static readonly DateTimeOffset Published = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);

    private static ManifestFile File(string path) => new()
    {
        Path = path,
        Size = 3,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(path))),
        Chunks = [new string('a', 64)],
    };

    private static (Manifest Manifest, string PublicKey) Signed()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        ManifestFile[] files = [File("noobs/a.zip"), File("noobs/b.zip"), File("os/lite/c.img"), File("rachel/SHA256SUMS"), File("rachel/d.zip")];
        return (new Manifest { Serial = 12, Published = Published, Files = files, Folders = FolderSignatures.Sign(files, priv, 12, Published) }, pub);
    }

    [Fact]
    public void Each_folder_gets_a_signature_of_its_list_except_one_with_a_real_SHA256SUMS()
    {
        var (manifest, pub) = Signed();
        Assert.Equal(["noobs", "os/lite"], manifest.Folders!.Select(f => f.Path));
        var noobs = manifest.Folders![0];
        var sums = Sha256Sums.Build([.. manifest.Files.Take(2).Select(f => (f.Path, Convert.FromHexString(f.Sha256)))]);
        // Only the two signatures travel (172 characters); the file is rebuilt from the key, folder, serial and date.
        Assert.Equal(172, noobs.SumsSignature.Length);
        var file = FolderSignatures.SignatureFile("noobs", FolderSignatures.Decode(noobs.SumsSignature)!, pub, 12, Published)!;
        Assert.True(Minisign.Verify(sums, file, pub));
        Assert.Equal($"timestamp:{Published.ToUnixTimeSeconds()}\tfile:noobs/SHA256SUMS\tserial:12\thashed", Minisign.TrustedCommentOf(file));
        // Rebuilt for another folder, serial or date, it no longer verifies: the trusted comment is signed.
        Assert.False(Minisign.Verify(sums, FolderSignatures.SignatureFile("os/lite", FolderSignatures.Decode(noobs.SumsSignature)!, pub, 12, Published)!, pub));
        Assert.False(Minisign.Verify(sums, FolderSignatures.SignatureFile("noobs", FolderSignatures.Decode(noobs.SumsSignature)!, pub, 11, Published)!, pub));
    }

    [Fact]
    public void Folders_survive_a_round_trip_and_the_streaming_reader_hands_them_over()
    {
        var (manifest, _) = Signed();
        var bytes = ManifestCodec.Serialize(manifest);
        var parsed = ManifestCodec.TryParse(bytes, out var error);
        Assert.Null(error);
        Assert.Equal(manifest.Folders, parsed!.Folders);
        Assert.Equal(bytes, ManifestCodec.Serialize(parsed));
        Assert.True(ManifestReader.TryRead(bytes, _ => { }, out var header, out _));
        Assert.Equal(manifest.Folders, header.Folders);
    }

    [Fact]
    public void A_manifest_without_folders_reads_and_writes_as_before()
    {
        var (manifest, _) = Signed();
        var old = manifest with { Folders = null };
        var bytes = ManifestCodec.Serialize(old);
        Assert.False(Encoding.UTF8.GetString(bytes).Contains("\"folders\"", StringComparison.Ordinal));
        var parsed = ManifestCodec.TryParse(bytes, out var error);
        Assert.Null(error);
        Assert.Null(parsed!.Folders);
    }

    [Theory]
    [InlineData("""[{"path":"../x","sumsSignature":"S"}]""", "invalid folder")]
    [InlineData("""[{"path":"noobs","sumsSignature":"S"},{"path":"noobs","sumsSignature":"S"}]""", "twice")]
    [InlineData("""[{"path":"noobs","sumsSignature":"not a signature"}]""", "is not base64 of 128 bytes")]
    [InlineData("""[{"path":"noobs","sumsSignature":"AAAA"}]""", "is not base64 of 128 bytes")]
    [InlineData("""[{"path":"noobs"}]""", "needs a path and a sumsSignature")]
    [InlineData("""[{"path":7,"sumsSignature":"S"}]""", "must be a string")]
    [InlineData("""{"noobs":"S"}""", "must be an array")]
    public void Malformed_folders_reject_the_manifest(string folders, string reason)
    {
        var (manifest, _) = Signed();
        var good = Json(manifest.Folders![0].SumsSignature);
        var json = Encoding.UTF8.GetString(ManifestCodec.Serialize(manifest with { Folders = null }));
        json = json[..^1] + ",\"folders\":" + folders.Replace("\"S\"", good, StringComparison.Ordinal) + "}";
        Assert.Null(ManifestCodec.TryParse(Encoding.UTF8.GetBytes(json), out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
