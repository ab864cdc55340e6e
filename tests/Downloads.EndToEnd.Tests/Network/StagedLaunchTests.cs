using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Sync;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Downloads.EndToEnd.Tests.Network.StagedNetwork;
using static Downloads.EndToEnd.Tests.Network.TestNetworkRig;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// A secret launch over the whole network with the origin on a fake clock: before the time no public endpoint of the
/// origin, a mirror or the redirector shows the staged file's name, size, hash or bytes; at the time the UK mirror,
/// which prefetched the ciphertext, decrypts it without a download and takes the redirects, while the Swedish mirror
/// (no disk room to stage, a slow link) has not finished and is skipped like a stale one. The moment between the
/// redirector reading the new manifest and the UK mirror's report of the serial: <see cref="StagedReleaseFirstSecondsTests"/>.
/// </summary>
public sealed partial class StagedLaunchTests : IAsyncLifetime
{
    private const string Secret = "os/zz-secret-launch-2027.img";
    private const int SecretSize = 300_007;
    private static readonly DateTimeOffset ReleaseAt = new(2027, 2, 2, 9, 0, 0, TimeSpan.Zero);

    private readonly TestNetworkRig _net = new("e2e-staged");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
    private ServiceHost _uk = null!;
    private ServiceHost _se = null!;

    public async Task InitializeAsync()
    {
        // The Swedish mirror has no room to stage and a 4 kB/s link: at the release it has to download the file and is still at it.
        (_uk, _se) = await StagedNetwork.StartAsync(_net, _clock);
    }

    public async Task DisposeAsync() => await _net.DisposeAsync();

    [Fact]
    public async Task Nothing_leaks_before_the_time_and_at_it_redirects_go_to_the_mirror_that_holds_the_file()
    {
        await Eventually.TrueAsync(async () => (await _net.RedirectAsync(Public, London))?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror");
        await Eventually.TrueAsync(async () => (await _net.RedirectAsync(Public, Linkoping))?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "Linköping client redirected to the Swedish mirror");

        var secret = RandomNumberGenerator.GetBytes(SecretSize);
        var sha = Convert.ToHexStringLower(SHA256.HashData(secret));
        var id = await StagedNetwork.StageAsync(_net, _uk, secret, Secret, "2027-02-02T09:00:00Z", _clock);
        var seStaged = _se.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => seStaged.ShortfallBytes > 0, TimeSpan.FromSeconds(60), "Swedish mirror reports its disk shortfall");

        // Ops see the coverage: the UK mirror reports the opaque id in its state; one of two EU mirrors, half the capacity.
        await Eventually.TrueAsync(async () => (await _net.Redis.Admin.GetDatabase().HashGetAsync(Contracts.Redis.Keyspace.MirrorState("uk-cam"), Contracts.Redis.Keyspace.StateFields.Staged)) == id,
            TimeSpan.FromSeconds(30), "UK mirror reports the staged id");
        var coverage = System.Text.Json.JsonDocument.Parse(await _net.AdminAsync(HttpMethod.Get, "/-/api/staging?expected=EU:0.8", null)).RootElement;
        var eu = coverage.EnumerateArray().Single(f => f.GetProperty("id").GetString() == id).GetProperty("regions").EnumerateArray().Single();
        Assert.Equal(("EU", 2, 1, 0.5, "go"), (eu.GetProperty("region").GetString(), eu.GetProperty("mirrors").GetInt32(), eu.GetProperty("holding").GetInt32(),
            eu.GetProperty("capacityShare").GetDouble(), eu.GetProperty("verdict").GetString()));

        // Before the time: every public endpoint, listing, error and metric, of every service.
        string[] secrets = [Secret, "zz-secret", sha, SecretSize.ToString(CultureInfo.InvariantCulture)];
        var probes = new List<string>();
        foreach (var service in new[] { _net.Origin, _uk, _se, _net.Redirector })
        {
            foreach (var path in new[] { "/" + Secret, "/" + Secret + ".meta4", "/" + Secret + "?mirrorlist", "/" + Secret + "?json", "/" + Secret + "?metalink",
                "/os/", "/os/SHA256SUMS", "/-/metrics", "/-/health", "/-/manifest.json", "/-/staging.json" })
                probes.Add(service.BaseUrl + path);
        }
        foreach (var url in probes)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", London);
            using var response = await _net.Http.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.Found, response.StatusCode);
            var body = Echo().Replace(await response.Content.ReadAsStringAsync(), "");
            var headers = response.Headers.ToString() + response.Content.Headers;
            foreach (var s in secrets)
            {
                Assert.False(body.Contains(s, StringComparison.Ordinal), $"{url} shows '{s}' before the release: {body[..Math.Min(body.Length, 300)]}");
                Assert.False(headers.Contains(s, StringComparison.Ordinal), $"{url} headers show '{s}' before the release");
            }
        }
        using (var ops = new HttpRequestMessage(HttpMethod.Get, $"{_net.Redirector.BaseUrl}/-/ops"))
        {
            ops.Headers.Authorization = new("Bearer", AdminToken);
            using var response = await _net.Http.SendAsync(ops);
            var body = await response.Content.ReadAsStringAsync();
            foreach (var s in secrets[..3])
                Assert.DoesNotContain(s, body, StringComparison.Ordinal);
        }

        // The time comes: the UK mirror decrypts what it holds; nothing is downloaded.
        var ukFetched = _uk.Services.GetRequiredService<SyncStatus>().BytesFetched;
        _clock.SetUtcNow(ReleaseAt);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await _net.RedirectAsync(Secret, London))?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror for the released file");
        Assert.Equal(ukFetched, _uk.Services.GetRequiredService<SyncStatus>().BytesFetched);
        Assert.Equal(secret, await _net.Http.GetByteArrayAsync($"{_uk.BaseUrl}/{Secret}"));

        // The Swedish mirror is still downloading: Linköping is sent to the UK mirror, not to it and not to the origin.
        for (var i = 0; i < 20; i++)
        {
            var location = await _net.RedirectAsync(Secret, Linkoping);
            Assert.NotNull(location);
            Assert.StartsWith(_uk.BaseUrl, location, StringComparison.Ordinal);
        }
        Assert.Equal(ukFetched, _uk.Services.GetRequiredService<SyncStatus>().BytesFetched);
    }

    // A 404 or mirror list may quote the request's own path back; that is the client's input, not a leak.
    [GeneratedRegex(@"os/zz-secret-launch-2027\.img(\.meta4)?")]
    private static partial Regex Echo();
}
