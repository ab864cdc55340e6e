using System.Net;
using Downloads.Contracts.Identity;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Limits;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NSec.Cryptography;

namespace Downloads.Mirror.Tests.Limits;

/// <summary>
/// A tier-1 mirror verifies the signed requests of the mirrors that sync from it (issue #15, "One identity per
/// mirror"): against the approved keys of the origin's signed list, fetched from its upstream; a verified request is
/// served over its connection limits, anything else is a public client. Real Kestrel on both sides.
/// </summary>
public sealed class DownstreamMirrorsTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task A_full_tier1_mirror_serves_an_approved_mirrors_signed_request_and_refuses_forged_replayed_and_unknown_ones()
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        using var tier2 = NewKey();
        using var stranger = NewKey();
        await using var upstream = await KeyListHost.StartAsync(new MirrorKeyList(Now(), Now() + MirrorKeyList.Lifetime,
            new Dictionary<string, string> { ["tier2"] = PublicOf(tier2) }), priv);
        await using var host = new MirrorHost("tier1", redis.Configuration, $"--Mirror:Upstream={upstream.Url}", $"--Mirror:PublicKey={pub}",
            "--Serving:MaxConnections=2");
        await host.App.StartAsync();
        var downstream = host.App.Services.GetRequiredService<DownstreamMirrors>();
        await Eventually.TrueAsync(() => downstream.Current is not null, TimeSpan.FromSeconds(15), "the signed key list fetched and verified");
        var held = await host.HoldConnectionsAsync(2);
        using var first = held[0];
        using var second = held[1];
        var url = new Uri(host.BaseUri, "/-/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(new HttpRequestMessage(HttpMethod.Get, url)));
        var signed = Signed(url, "tier2", tier2);
        var replay = Signed(url, "tier2", tier2);
        replay.Headers.Remove(RequestSignature.InputHeader);
        replay.Headers.Remove(RequestSignature.SignatureHeader);
        replay.Headers.TryAddWithoutValidation(RequestSignature.InputHeader, signed.Headers.GetValues(RequestSignature.InputHeader));
        replay.Headers.TryAddWithoutValidation(RequestSignature.SignatureHeader, signed.Headers.GetValues(RequestSignature.SignatureHeader));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(signed));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(replay));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(Signed(url, "tier2", stranger)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(Signed(url, "tier3", stranger)));
        Assert.Equal(1, host.App.Services.GetRequiredService<LimitCounters>().MirrorsExempted);

        // The tier-1 mirror re-serves the list it verified, byte for byte, for the tiers below.
        Assert.Equal(upstream.Bytes, downstream.Current!.Bytes);
        Assert.Equal(PinnedKey.Current, new PinnedKeys(pub, "").Verify(downstream.Current.Bytes, downstream.Current.Signature));
    }

    [Fact]
    public async Task A_list_not_signed_with_the_pinned_key_or_no_longer_current_is_not_taken()
    {
        var (_, pub) = ManifestSigner.GenerateKeyPair();
        var (otherPriv, _) = ManifestSigner.GenerateKeyPair();
        using var tier2 = NewKey();
        var keys = new Dictionary<string, string> { ["tier2"] = PublicOf(tier2) };
        await using var forged = await KeyListHost.StartAsync(new MirrorKeyList(Now(), Now() + MirrorKeyList.Lifetime, keys), otherPriv);
        await using var host = new MirrorHost("tier1b", redis.Configuration, $"--Mirror:Upstream={forged.Url}", $"--Mirror:PublicKey={pub}");
        var downstream = host.App.Services.GetRequiredService<DownstreamMirrors>();
        Assert.False(await downstream.RefreshAsync(default));
        Assert.Null(downstream.Current);
        Assert.Null(downstream.Find("tier2"));

        // An upstream that is down (or has no list) is one failed fetch, outside the sync's retry pipeline.
        await using var orphan = new MirrorHost("tier1c", redis.Configuration, $"--Mirror:PublicKey={pub}");
        Assert.False(await orphan.App.Services.GetRequiredService<DownstreamMirrors>().RefreshAsync(default));
    }

    [Fact]
    public void The_list_is_read_to_its_exact_form()
    {
        using var key = NewKey();
        var list = new MirrorKeyList(Now(), Now() + MirrorKeyList.Lifetime, new Dictionary<string, string> { ["uk-cam"] = PublicOf(key) });
        var read = MirrorKeyList.TryParse(list.Serialize(), out var error);
        Assert.Null(error);
        Assert.Equal(list.Keys, read!.Keys);
        Assert.Equal(list.Expires, read.Expires);
        Assert.Null(MirrorKeyList.TryParse("""{"version":1,"issued":"2027-01-01T00:00:00Z","expires":"2027-01-01T01:00:00Z","keys":{"../x":"AAAA"}}"""u8, out _));
        Assert.Null(MirrorKeyList.TryParse("""{"version":1,"issued":"2027-01-01T00:00:00+02:00","expires":"2027-01-01T01:00:00Z","keys":{}}"""u8, out _));
        Assert.Null(MirrorKeyList.TryParse("""{"version":1,"issued":"2027-01-01T02:00:00Z","expires":"2027-01-01T01:00:00Z","keys":{}}"""u8, out _));
        Assert.Null(MirrorKeyList.TryParse("""{"version":2,"issued":"2027-01-01T00:00:00Z","expires":"2027-01-01T01:00:00Z","keys":{}}"""u8, out _));
    }

    private static DateTimeOffset Now() => DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    private static Key NewKey() => Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    private static string PublicOf(Key key) => Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    private static HttpRequestMessage Signed(Uri url, string id, Key key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        RequestSignature.Sign(request, id, key, DateTimeOffset.UtcNow);
        return request;
    }

    /// <summary>Each request on a connection of its own (the mirror closes a refused one).</summary>
    private static async Task<HttpStatusCode> StatusAsync(HttpRequestMessage request)
    {
        using var http = new HttpClient();
        using (request)
        using (var response = await http.SendAsync(request))
            return response.StatusCode;
    }

    /// <summary>A stand-in upstream that serves only a signed mirror key list.</summary>
    private sealed class KeyListHost : IAsyncDisposable
    {
        private WebApplication _app = null!;

        public string Url { get; private set; } = "";

        public byte[] Bytes { get; private set; } = [];

        public static async Task<KeyListHost> StartAsync(MirrorKeyList list, string privateKey)
        {
            var host = new KeyListHost { Url = $"http://127.0.0.1:{FreePort.Next()}", Bytes = list.Serialize() };
            var signature = ManifestSigner.Sign(host.Bytes, privateKey);
            var builder = WebApplication.CreateSlimBuilder([$"--urls={host.Url}"]);
            builder.Logging.ClearProviders();
            host._app = builder.Build();
            host._app.MapGet(MirrorKeyList.Path, () => Results.Bytes(host.Bytes, "application/json"));
            host._app.MapGet(MirrorKeyList.SignaturePath, () => Results.Text(signature));
            await host._app.StartAsync();
            return host;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
