using System.Text;
using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Tests.Manifests;

public class ManifestSignerTests
{
    private static Manifest Sample() => new()
    {
        Serial = 7,
        Published = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero),
        ChunkSize = 4,
        Files =
        [
            new ManifestFile { Path = "noobs/a.zip", Size = 5, Sha256 = new string('a', 64), ChangedAt = 7, Chunks = [new string('b', 64), new string('c', 64)] },
        ],
    };

    [Fact]
    public void Signature_verifies_with_the_matching_public_key_only()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var (_, otherPub) = ManifestSigner.GenerateKeyPair();
        var bytes = ManifestCodec.Serialize(Sample());
        var sig = ManifestSigner.Sign(bytes, priv);

        Assert.True(ManifestSigner.Verify(bytes, sig, pub));
        Assert.False(ManifestSigner.Verify(bytes, sig, otherPub));
        Assert.Equal(pub, ManifestSigner.PublicKeyOf(priv));
    }

    [Fact]
    public void Tampered_bytes_fail_verification()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var bytes = ManifestCodec.Serialize(Sample());
        var sig = ManifestSigner.Sign(bytes, priv);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\"serial\":7", "\"serial\":8", StringComparison.Ordinal));

        Assert.NotEqual(bytes, tampered);
        Assert.False(ManifestSigner.Verify(tampered, sig, pub));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("")]
    [InlineData("AAAA")]
    public void Malformed_signature_is_rejected_not_thrown(string signature)
    {
        var (_, pub) = ManifestSigner.GenerateKeyPair();
        Assert.False(ManifestSigner.Verify("x"u8, signature, pub));
    }

    [Fact]
    public void Codec_round_trips_and_rejects_bad_paths()
    {
        var bytes = ManifestCodec.Serialize(Sample());
        var back = ManifestCodec.TryParse(bytes, out var error);
        Assert.Null(error);
        Assert.NotNull(back);
        Assert.Equal(7, back.Serial);
        Assert.Equal("noobs", back.Files[0].Set);

        var evil = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("noobs/a.zip", "../etc/passwd", StringComparison.Ordinal));
        Assert.Null(ManifestCodec.TryParse(evil, out error));
        Assert.Contains("invalid path", error, StringComparison.Ordinal);
        Assert.Null(ManifestCodec.TryParse("{not json"u8, out error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("noobs/a.zip", true)]
    [InlineData("os/2026/img.xz", true)]
    [InlineData("../x", false)]
    [InlineData("noobs/../x", false)]
    [InlineData("noobs//x", false)]
    [InlineData("/noobs/x", false)]
    [InlineData("noobs\\x", false)]
    [InlineData("-/health", false)]
    [InlineData("noobs/a\0b", false)]
    [InlineData("", false)]
    public void Path_rules(string path, bool valid) => Assert.Equal(valid, ManifestPaths.IsValid(path));
}
