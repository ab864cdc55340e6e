using System.Text;
using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Tests.Manifests;

public class ManifestExpiryTests
{
    private static readonly DateTimeOffset Published = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Expires_written_with_Z_reads_as_the_same_time() =>
        Assert.Equal(Published, ManifestCodec.TryParse("""{"expires":"2026-12-01T00:00:00Z"}"""u8, out _)!.Expires);

    [Fact]
    public void Expires_is_signed_in_the_bytes_and_read_back_exactly()
    {
        var manifest = new Manifest { Serial = 3, Published = Published, Expires = Published.AddDays(7) };
        var bytes = ManifestCodec.Serialize(manifest);

        Assert.Contains("\"expires\":\"2026-12-08T00:00:00+00:00\"", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        var read = ManifestCodec.TryParse(bytes, out var error);
        Assert.Null(error);
        Assert.Equal(Published.AddDays(7), read!.Expires);
        Assert.True(ManifestReader.TryRead(bytes, _ => { }, out var header, out _));
        Assert.Equal(Published.AddDays(7), header.Expires);
        // Changing the expiry changes the signed bytes: a replayed copy cannot be given a later one.
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var signature = ManifestSigner.Sign(bytes, priv);
        var extended = ManifestCodec.Serialize(manifest with { Expires = Published.AddDays(70) });
        Assert.False(ManifestSigner.Verify(extended, signature, pub));
    }

    [Fact]
    public void A_manifest_is_expired_from_its_expires_time_on()
    {
        var manifest = new Manifest { Serial = 3, Published = Published, Expires = Published.AddDays(7) };

        Assert.False(manifest.IsExpired(Published.AddDays(7).AddTicks(-1)));
        Assert.True(manifest.IsExpired(Published.AddDays(7)));
    }

    [Fact]
    public void A_manifest_without_expires_reads_as_already_expired_never_as_fresh()
    {
        var json = """{"version":1,"serial":9,"published":"2026-12-01T00:00:00+00:00","chunkSize":4,"files":[]}"""u8;

        var manifest = ManifestCodec.TryParse(json, out var error);

        Assert.Null(error);
        Assert.Equal(DateTimeOffset.MinValue, manifest!.Expires);
        Assert.True(manifest.IsExpired(DateTimeOffset.MinValue));
    }

    [Theory]
    [InlineData("""{"expires":7}""", "manifest 'expires' must be an ISO 8601 date")]
    [InlineData("""{"expires":"next week"}""", "manifest 'expires' must be an ISO 8601 date")]
    [InlineData("""{"expires":"2026-12-08T00:00:00+01:00"}""", "manifest 'expires' must be in UTC (offset +00:00)")]
    [InlineData("""{"expires":"2026-12-08T00:00:00"}""", "manifest 'expires' must be in UTC (offset +00:00)")]
    [InlineData("""{"expires":"2026-12-08T00:00:00Z","expires":"2036-12-08T00:00:00Z"}""", "manifest repeats 'expires'")]
    public void An_expires_not_in_its_exact_form_is_refused(string json, string reason)
    {
        Assert.Null(ManifestCodec.TryParse(Encoding.UTF8.GetBytes(json), out var error));
        Assert.Equal(reason, error);
    }
}
