using Downloads.Contracts.Mirrors;

namespace Downloads.Contracts.Tests.Mirrors;

public sealed class ProbeTokenTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly byte[] _key = ProbeToken.NewKey();

    [Fact]
    public void A_token_verifies_only_for_its_key_method_target_and_time_window()
    {
        var token = ProbeToken.Create(_key, "GET", "/os/a.img", Now);

        Assert.Equal(ProbeTokenCheck.Valid, ProbeToken.Verify(_key, token, "GET", "/os/a.img", Now.AddMinutes(4), out var nonce));
        Assert.Equal(22, nonce.Length);
        Assert.Equal(ProbeTokenCheck.Valid, ProbeToken.Verify(_key, token, "GET", "/os/a.img", Now.AddMinutes(-4), out _));
        Assert.Equal(ProbeTokenCheck.BadMac, ProbeToken.Verify(ProbeToken.NewKey(), token, "GET", "/os/a.img", Now, out _));
        Assert.Equal(ProbeTokenCheck.BadMac, ProbeToken.Verify(_key, token, "HEAD", "/os/a.img", Now, out _));
        Assert.Equal(ProbeTokenCheck.BadMac, ProbeToken.Verify(_key, token, "GET", "/os/b.img", Now, out _));
        Assert.Equal(ProbeTokenCheck.Expired, ProbeToken.Verify(_key, token, "GET", "/os/a.img", Now.AddMinutes(6), out _));
        Assert.Equal(ProbeTokenCheck.Expired, ProbeToken.Verify(_key, token, "GET", "/os/a.img", Now.AddMinutes(-6), out _));
        Assert.NotEqual(token, ProbeToken.Create(_key, "GET", "/os/a.img", Now));
    }

    [Theory]
    [InlineData(null, ProbeTokenCheck.Missing)]
    [InlineData("", ProbeTokenCheck.Missing)]
    [InlineData("1800000000", ProbeTokenCheck.Malformed)]
    [InlineData("1800000000.abc", ProbeTokenCheck.Malformed)]
    [InlineData("-5.abc.AAAA", ProbeTokenCheck.Malformed)]
    [InlineData("1800000000.abc.not*base64", ProbeTokenCheck.Malformed)]
    [InlineData("1.2.3", ProbeTokenCheck.Malformed)]
    [InlineData("1800000000..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ProbeTokenCheck.Malformed)]
    [InlineData("1800000000.abc.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ProbeTokenCheck.BadMac)]
    public void Anything_else_is_refused_without_throwing(string? token, ProbeTokenCheck expected) =>
        Assert.Equal(expected, ProbeToken.Verify(_key, token, "GET", "/", Now, out _));

    [Fact]
    public void A_key_round_trips_through_its_published_form_and_junk_is_no_key()
    {
        Assert.Equal(_key, ProbeToken.DecodeKey(ProbeToken.EncodeKey(_key)));
        Assert.Null(ProbeToken.DecodeKey(null));
        Assert.Null(ProbeToken.DecodeKey("short"));
        Assert.Null(ProbeToken.DecodeKey(new string('A', 200)));
        Assert.Null(ProbeToken.DecodeKey("not*a*key*not*a*key*not*a*key*not*a*key*abc"));
    }
}
