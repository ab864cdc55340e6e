using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Tests.Manifests;

public class PinnedKeysTests
{
    private static readonly byte[] Data = "manifest bytes"u8.ToArray();

    [Fact]
    public void A_signature_by_the_current_or_the_next_key_verifies_and_says_which()
    {
        var (currentPriv, currentPub) = ManifestSigner.GenerateKeyPair();
        var (nextPriv, nextPub) = ManifestSigner.GenerateKeyPair();
        var (otherPriv, _) = ManifestSigner.GenerateKeyPair();
        var keys = new PinnedKeys(currentPub, nextPub);

        Assert.Equal(PinnedKey.Current, keys.Verify(Data, ManifestSigner.Sign(Data, currentPriv)));
        Assert.Equal(PinnedKey.Next, keys.Verify(Data, ManifestSigner.Sign(Data, nextPriv)));
        Assert.Equal(PinnedKey.None, keys.Verify(Data, ManifestSigner.Sign(Data, otherPriv)));
        Assert.Equal(nextPub, keys.KeyOf(PinnedKey.Next));
        Assert.Equal(currentPub, keys.KeyOf(PinnedKey.Current));
    }

    [Fact]
    public void Without_a_next_key_only_the_current_one_verifies()
    {
        var (currentPriv, currentPub) = ManifestSigner.GenerateKeyPair();
        var (nextPriv, _) = ManifestSigner.GenerateKeyPair();
        var keys = new PinnedKeys(currentPub, "");

        Assert.Equal(PinnedKey.Current, keys.Verify(Data, ManifestSigner.Sign(Data, currentPriv)));
        Assert.Equal(PinnedKey.None, keys.Verify(Data, ManifestSigner.Sign(Data, nextPriv)));
        Assert.Equal(currentPub, keys.KeyOf(PinnedKey.Next));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("not base64!", false)]
    [InlineData("AAAA", false)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false)]
    public void The_next_key_setting_is_empty_or_a_32_byte_key(string? value, bool valid) =>
        Assert.Equal(valid, PinnedKeys.IsValidOptionalKey(value));

    [Fact]
    public void A_generated_public_key_is_a_valid_next_key() =>
        Assert.True(PinnedKeys.IsValidOptionalKey(ManifestSigner.GenerateKeyPair().PublicKey));
}
