using System.Text;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.Contracts.Tests.Checksums;

/// <summary>Signatures made with the manifest key, checked by this code and by the real minisign (Debian's package).</summary>
public class MinisignTests
{
    private static readonly byte[] Data = Encoding.UTF8.GetBytes("0123  a.img\n");

    [Fact]
    public void A_signature_verifies_and_any_change_breaks_it()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        using var key = ManifestSigner.ImportPrivateKey(priv);
        var signature = Minisign.Sign(Data, key, "timestamp:1\tfile:os/SHA256SUMS\tserial:4\thashed");
        Assert.True(Minisign.Verify(Data, signature, pub));
        Assert.Equal("timestamp:1\tfile:os/SHA256SUMS\tserial:4\thashed", Minisign.TrustedCommentOf(signature));

        Assert.False(Minisign.Verify([.. Data, (byte)' '], signature, pub));
        Assert.False(Minisign.Verify(Data, signature.Replace("serial:4", "serial:5", StringComparison.Ordinal), pub));
        Assert.False(Minisign.Verify(Data, signature, ManifestSigner.GenerateKeyPair().PublicKey));
        // The untrusted comment is just that.
        Assert.True(Minisign.Verify(Data, signature.Replace("from the Downloads origin key", "anything", StringComparison.Ordinal), pub));
    }

    [Fact]
    public void Malformed_files_are_refused()
    {
        var (priv, _) = ManifestSigner.GenerateKeyPair();
        using var key = ManifestSigner.ImportPrivateKey(priv);
        var signature = Minisign.Sign(Data, key, "c");
        Assert.True(Minisign.IsWellFormed(signature));
        Assert.False(Minisign.IsWellFormed(signature.TrimEnd('\n')));
        Assert.False(Minisign.IsWellFormed(signature + "more\n"));
        Assert.False(Minisign.IsWellFormed(signature.Replace("trusted comment: ", "comment: ", StringComparison.Ordinal)));
        Assert.False(Minisign.IsWellFormed(""));
        Assert.Throws<ArgumentException>(() => Minisign.Sign(Data, key, "two\nlines"));
    }

    [Fact]
    public void The_public_key_file_carries_the_key_id_of_the_signatures()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var file = Minisign.PublicKeyFile(pub)!;
        var lines = file.Split('\n');
        Assert.StartsWith("untrusted comment: minisign public key ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("RW", lines[1], StringComparison.Ordinal);
        Assert.Equal(Minisign.PublicKeyLine(pub), lines[1]);
        var blob = Convert.FromBase64String(lines[1]);
        Assert.Equal(Convert.FromBase64String(pub), blob[10..]);
        Assert.EndsWith(Minisign.KeyIdText(blob.AsSpan(2, 8)), lines[0], StringComparison.Ordinal);
        Assert.Null(Minisign.PublicKeyFile("not a key"));
        Assert.NotEqual(priv, pub);
    }

    [Fact]
    public async Task Real_minisign_verifies_the_signature_with_the_published_key()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        using var dir = new TempDirectory("minisign");
        await File.WriteAllBytesAsync(dir.Combine("SHA256SUMS"), Data);
        using (var key = ManifestSigner.ImportPrivateKey(priv))
            await File.WriteAllTextAsync(dir.Combine("SHA256SUMS.minisig"), Minisign.Sign(Data, key, "timestamp:1700000000\tfile:os/SHA256SUMS\tserial:9\thashed"));
        await File.WriteAllTextAsync(dir.Combine("minisign.pub"), Minisign.PublicKeyFile(pub));

        var withFile = await ExternalTool.RunAsync("minisign", dir.Path, "-V", "-p", "minisign.pub", "-m", "SHA256SUMS");
        Assert.True(withFile.ExitCode == 0, withFile.Output);
        Assert.Contains("Trusted comment: timestamp:1700000000\tfile:os/SHA256SUMS\tserial:9", withFile.Output, StringComparison.Ordinal);
        // -H refuses legacy signatures: these are the prehashed kind. -P takes the key line as published in docs.
        var prehashed = await ExternalTool.RunAsync("minisign", dir.Path, "-V", "-H", "-P", Minisign.PublicKeyLine(pub)!, "-m", "SHA256SUMS");
        Assert.True(prehashed.ExitCode == 0, prehashed.Output);

        await File.WriteAllTextAsync(dir.Combine("SHA256SUMS"), "0124  a.img\n");
        var tampered = await ExternalTool.RunAsync("minisign", dir.Path, "-V", "-p", "minisign.pub", "-m", "SHA256SUMS");
        Assert.NotEqual(0, tampered.ExitCode);
        var otherKey = await ExternalTool.RunAsync("minisign", dir.Path, "-V", "-P", Minisign.PublicKeyLine(ManifestSigner.GenerateKeyPair().PublicKey)!, "-m", "SHA256SUMS");
        Assert.NotEqual(0, otherKey.ExitCode);
    }
}
