using Downloads.Contracts.Identity;
using NSec.Cryptography;

namespace Downloads.Contracts.Tests.Identity;

public sealed class RequestSignatureTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2027, 2, 2, 8, 59, 0, TimeSpan.Zero);
    private readonly Key _key = Key.Create(SignatureAlgorithm.Ed25519);
    private readonly Key _other = Key.Create(SignatureAlgorithm.Ed25519);

    public void Dispose()
    {
        _key.Dispose();
        _other.Dispose();
    }

    private static HttpRequestMessage Get(string url) => new(HttpMethod.Get, url);

    private PublicKey? Keys(string id) => id == "uk-cam" ? _key.PublicKey : null;

    private string? Verify(HttpRequestMessage request, NonceCache nonces, DateTimeOffset now, out string reason,
        string? authority = null, string? path = null, string? query = null, string? method = null) =>
        RequestSignature.Verify(method ?? request.Method.Method, authority ?? RequestSignature.Authority(request.RequestUri!),
            path ?? request.RequestUri!.AbsolutePath, query ?? request.RequestUri!.Query,
            request.Headers.TryGetValues(RequestSignature.InputHeader, out var i) ? i.Single() : null,
            request.Headers.TryGetValues(RequestSignature.SignatureHeader, out var s) ? s.Single() : null,
            Keys, now, nonces, out reason);

    [Fact]
    public void A_signed_request_verifies_once_as_its_mirror()
    {
        using var request = Get("http://origin.example:8080/noobs/NOOBS_v4_0.zip?x=1");
        RequestSignature.Sign(request, "uk-cam", _key, Now);
        var nonces = new NonceCache();

        Assert.Equal("uk-cam", Verify(request, nonces, Now.AddSeconds(3), out var reason));
        Assert.Equal("", reason);
        Assert.Null(Verify(request, nonces, Now.AddSeconds(4), out reason));
        Assert.Equal("replayed nonce", reason);
        Assert.Matches("^mirror=\\(\"@method\" \"@authority\" \"@path\" \"@query\"\\);created=[0-9]+;keyid=\"uk-cam\";nonce=\"[A-Za-z0-9_-]{24}\";alg=\"ed25519\"$",
            request.Headers.GetValues(RequestSignature.InputHeader).Single());
    }

    [Theory]
    [InlineData("method", "bad signature")]
    [InlineData("authority", "bad signature")]
    [InlineData("path", "bad signature")]
    [InlineData("query", "bad signature")]
    public void A_signature_covers_method_authority_path_and_query(string changed, string expected)
    {
        using var request = Get("http://origin.example:8080/noobs/a.zip?x=1");
        RequestSignature.Sign(request, "uk-cam", _key, Now);
        var id = Verify(request, new NonceCache(), Now, out var reason,
            method: changed == "method" ? "DELETE" : null,
            authority: changed == "authority" ? "evil.example:8080" : null,
            path: changed == "path" ? "/noobs/b.zip" : null,
            query: changed == "query" ? "?x=2" : null);
        Assert.Null(id);
        Assert.Equal(expected, reason);
    }

    [Fact]
    public void Another_key_an_unknown_mirror_and_old_or_future_signatures_are_refused()
    {
        using var forged = Get("http://origin.example/a.zip");
        RequestSignature.Sign(forged, "uk-cam", _other, Now);
        Assert.Null(Verify(forged, new NonceCache(), Now, out var reason));
        Assert.Equal("bad signature", reason);

        using var stranger = Get("http://origin.example/a.zip");
        RequestSignature.Sign(stranger, "nobody", _key, Now);
        Assert.Null(Verify(stranger, new NonceCache(), Now, out reason));
        Assert.Equal("unknown key", reason);

        using var request = Get("http://origin.example/a.zip");
        RequestSignature.Sign(request, "uk-cam", _key, Now);
        Assert.Null(Verify(request, new NonceCache(), Now + RequestSignature.MaxAge + TimeSpan.FromSeconds(1), out reason));
        Assert.Equal("signature outside the time window", reason);
        Assert.Null(Verify(request, new NonceCache(), Now - RequestSignature.MaxSkew - TimeSpan.FromSeconds(1), out reason));
        Assert.Equal("signature outside the time window", reason);
        Assert.Equal("uk-cam", Verify(request, new NonceCache(), Now + RequestSignature.MaxAge, out _));
    }

    [Theory]
    [InlineData("mirror=(\"@method\" \"@authority\" \"@path\");created=1801213140;keyid=\"uk-cam\";nonce=\"AAAAAAAAAAAAAAAAAAAAAAAA\";alg=\"ed25519\"")]
    [InlineData("mirror=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1801213140;keyid=\"UK-CAM\";nonce=\"AAAAAAAAAAAAAAAAAAAAAAAA\";alg=\"ed25519\"")]
    [InlineData("mirror=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1801213140;keyid=\"uk-cam\";nonce=\"short\";alg=\"ed25519\"")]
    [InlineData("mirror=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1801213140;keyid=\"uk-cam\";nonce=\"AAAAAAAAAAAAAAAAAAAAAAAA\";alg=\"rsa-v1_5-sha256\"")]
    [InlineData("mirror=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1801213140;keyid=\"uk-cam\";nonce=\"AAAAAAAAAAAAAAAAAAAAAAAA\";alg=\"ed25519\", other=()")]
    [InlineData("sig1=(\"@method\" \"@authority\" \"@path\" \"@query\");created=1801213140;keyid=\"uk-cam\";nonce=\"AAAAAAAAAAAAAAAAAAAAAAAA\";alg=\"ed25519\"")]
    [InlineData("")]
    public void Signature_input_in_any_other_form_is_refused_before_any_key_is_looked_up(string input)
    {
        var looked = false;
        var id = RequestSignature.Verify("GET", "origin.example", "/a.zip", "", input, "mirror=:" + new string('A', 86) + "==:",
            _ => { looked = true; return _key.PublicKey; }, Now, new NonceCache(), out var reason);
        Assert.Null(id);
        Assert.False(looked);
        Assert.Equal("malformed signature headers", reason);
    }

    [Fact]
    public void No_headers_is_unsigned_and_a_bad_signature_spends_no_nonce()
    {
        Assert.Null(RequestSignature.Verify("GET", "o", "/a", "", null, null, Keys, Now, new NonceCache(), out var reason));
        Assert.Equal("unsigned", reason);

        using var request = Get("http://origin.example/a.zip");
        RequestSignature.Sign(request, "uk-cam", _key, Now);
        var nonces = new NonceCache();
        Assert.Null(Verify(request, nonces, Now, out _, path: "/b.zip"));
        Assert.Equal(0, nonces.Count);
        Assert.Equal("uk-cam", Verify(request, nonces, Now, out _));
    }

    [Fact]
    public void The_signature_base_is_rfc_9421s()
    {
        // RFC 9421 §2.5: one line per component, "@signature-params" last, no trailing newline.
        var text = RequestSignature.Base("get", "Example.COM", "/foo", "", "(\"@method\")");
        Assert.Equal("\"@method\": GET\n\"@authority\": example.com\n\"@path\": /foo\n\"@query\": ?\n\"@signature-params\": (\"@method\")", text);
        Assert.Equal("example.com:8443", RequestSignature.Authority(new Uri("https://Example.com:8443/x")));
        Assert.Equal("example.com", RequestSignature.Authority(new Uri("https://example.com:443/x")));
        Assert.Equal("[::1]:81", RequestSignature.Authority(new Uri("http://[::1]:81/x")));
    }

    [Fact]
    public void A_full_nonce_cache_refuses_new_nonces_until_old_ones_age_out()
    {
        var nonces = new NonceCache(capacity: 2);
        Assert.True(nonces.TryUse("a", Now.AddMinutes(1), Now));
        Assert.True(nonces.TryUse("b", Now.AddMinutes(1), Now));
        Assert.False(nonces.TryUse("c", Now.AddMinutes(1), Now));
        Assert.False(nonces.TryUse("a", Now.AddMinutes(2), Now.AddMinutes(0.5)));
        Assert.True(nonces.TryUse("c", Now.AddMinutes(3), Now.AddMinutes(1)));
        Assert.Equal(1, nonces.Count);
    }
}
