using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>Issue #15 §15: the origin switches signing key; redirectors that pin the next key follow, the others stay behind.</summary>
public class KeyRotationTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task A_redirector_with_the_next_key_follows_the_switch_and_shows_it_in_metrics()
    {
        await using var net = await TestNetwork.StartAsync(redis);
        var (nextPrivate, nextPublic) = ManifestSigner.GenerateKeyPair();
        await net.StartRedirectorAsync(true, $"--Redirector:NextPublicKey={nextPublic}", "--Redirector:ManifestRefreshSeconds=0.2");
        Assert.Equal(1, await KeyMetricAsync(net, "current"));
        Assert.Equal(Contracts.Checksums.Minisign.PublicKeyFile(ManifestSigner.PublicKeyOf(net.PrivateKey)), await net.Http.GetStringAsync(net.Url + "/-/minisign.pub"));
        Assert.Equal(0, await KeyMetricAsync(net, "next"));

        var now = DateTimeOffset.UtcNow;
        net.Origin.Publish(net.Manifest with { Serial = 8, Published = now, Expires = now.AddDays(7) }, nextPrivate);
        await Eventually.TrueAsync(async () => await net.MetricAsync("downloads_manifest_serial") == 8, TimeSpan.FromSeconds(15), "serial 8 signed by the next key loaded");

        Assert.Equal(0, await KeyMetricAsync(net, "current"));
        Assert.Equal(1, await KeyMetricAsync(net, "next"));
        // Checksum signatures now come with the next key: the published minisign key follows.
        Assert.Equal(Contracts.Checksums.Minisign.PublicKeyFile(nextPublic), await net.Http.GetStringAsync(net.Url + "/-/minisign.pub"));
        using var response = await net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "81.2.69.142");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
    }

    [Fact]
    public async Task A_redirector_without_the_next_key_is_left_behind_on_the_last_good_serial_and_keeps_redirecting()
    {
        await using var net = await TestNetwork.StartAsync(redis);
        var (nextPrivate, _) = ManifestSigner.GenerateKeyPair();
        await net.StartRedirectorAsync(true, "--Redirector:ManifestRefreshSeconds=0.2");

        var now = DateTimeOffset.UtcNow;
        net.Origin.Publish(net.Manifest with { Serial = 8, Published = now, Expires = now.AddDays(7) }, nextPrivate);
        await net.Origin.FetchedAgainAsync(2, TimeSpan.FromSeconds(15), "the redirector polled the manifest signed by the next key");

        Assert.Equal(7, await net.MetricAsync("downloads_manifest_serial"));
        Assert.Equal(1, await KeyMetricAsync(net, "current"));
        using var response = await net.GetAsync("/" + TestNetwork.Escaped(TestNetwork.OsPath), "81.2.69.142");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
    }

    [Fact]
    public async Task A_next_key_that_is_not_a_32_byte_key_stops_the_start()
    {
        await using var net = await TestNetwork.StartAsync(redis);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => net.StartRedirectorAsync(false, "--Redirector:NextPublicKey=AAAA"));

        Assert.Contains("NextPublicKey", error.Message, StringComparison.Ordinal);
    }

    private static async Task<double> KeyMetricAsync(TestNetwork net, string key) =>
        PrometheusText.Parse(await net.Http.GetStringAsync(net.Url + "/-/metrics"))
            .Single(s => s.Name == "downloads_manifest_key" && s.Label("key") == key).Value;
}
