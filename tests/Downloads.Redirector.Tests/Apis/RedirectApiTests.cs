using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Apis;

public class RedirectApiTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string London = "81.2.69.142";
    private const string Tokyo = "2001:218::1";

    [Fact]
    public async Task Redirect_goes_to_the_nearest_mirror_with_alternates_and_digests()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        var path = "/" + Escaped(NoobsPath);

        var fromLondon = await net.GetAsync(path, London);
        Assert.Equal(HttpStatusCode.Found, fromLondon.StatusCode);
        Assert.Equal($"{net.London.Url}/noobs/NOOBS%20v4.zip", fromLondon.Headers.Location!.OriginalString);
        var link = string.Join(", ", fromLondon.Headers.GetValues("Link"));
        Assert.Equal($"<{net.Tokyo.Url}/noobs/NOOBS%20v4.zip>; rel=duplicate; pri=2; geo=jp", link);
        var sha = net.Manifest.Files.Single(f => f.Path == NoobsPath).Sha256;
        var b64 = Convert.ToBase64String(Convert.FromHexString(sha));
        Assert.Equal($"SHA-256={b64}", fromLondon.Headers.GetValues("Digest").Single());
        Assert.Equal($"sha-256=:{b64}:", fromLondon.Headers.GetValues("Repr-Digest").Single());
        Assert.Equal("private, no-store", fromLondon.Headers.NonValidated["Cache-Control"].ToString());

        var fromTokyo = await net.GetAsync(path, Tokyo, HttpMethod.Head);
        Assert.Equal(HttpStatusCode.Found, fromTokyo.StatusCode);
        Assert.StartsWith(net.Tokyo.Url + "/", fromTokyo.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forwarded_for_is_ignored_from_an_untrusted_socket_and_fromip_only_moves_the_mirror_list()
    {
        await using var net = await StartAsync(redis);
        // Loopback is not trusted here, and the default point for unknown clients is Tokyo.
        await net.StartRedirectorAsync(extra: ["--Redirector:TrustedProxies=10.9.9.9", "--Redirector:DefaultLatitude=35", "--Redirector:DefaultLongitude=139"]);
        var path = "/" + Escaped(OsPath);
        var spoofed = await net.GetAsync(path, London);
        Assert.StartsWith(net.Tokyo.Url, spoofed.Headers.Location!.OriginalString, StringComparison.Ordinal);
        // A redirect goes by the real client, whatever fromip says; the mirror list answers "as seen from".
        var asked = await net.GetAsync(path + "?fromip=" + London);
        Assert.StartsWith(net.Tokyo.Url, asked.Headers.Location!.OriginalString, StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(await net.Http.GetStringAsync($"{net.Url}{path}?json&fromip={London}"));
        Assert.Contains(net.London.Url, json.RootElement.GetRawText(), StringComparison.Ordinal);
        var list = await net.Http.GetStringAsync($"{net.Url}{path}?mirrorlist&fromip={London}");
        Assert.True(list.IndexOf(net.London.Url, StringComparison.Ordinal) < list.IndexOf(net.Tokyo.Url, StringComparison.Ordinal),
            "the mirror list as seen from London ranks London first");
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("metalink")]
    [InlineData("fromip")]
    public async Task Cheap_requests_do_not_move_anyone(string flood)
    {
        await using var net = await StartAsync(redis);
        // Every redirect is taken to add 50 Mbit/s to its 1 Gbit/s mirror: 20 real downloads fill London.
        await net.StartRedirectorAsync(extra: ["--Redirector:AssumedClientMbps=50", "--Redirector:AssumedMinTransferSeconds=0.001"]);
        var path = "/" + Escaped(OsPath);
        // A fromip flood really comes from Tokyo, so it loads Tokyo: keep it under Tokyo's capacity (15 × 50 Mbit/s).
        var requests = flood == "fromip" ? 15 : 60;
        for (var i = 0; i < requests; i++)
        {
            var response = flood switch
            {
                "HEAD" => await net.GetAsync(path, London, HttpMethod.Head),
                "metalink" => await net.GetAsync(path + "?metalink", London),
                _ => await net.GetAsync(path + "?fromip=" + London, Tokyo),
            };
            Assert.True(response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Found, $"{flood} {i}: {response.StatusCode}");
        }
        // After them, London's clients still go to London (15 + 10 of their own would have filled it)...
        for (var i = 0; i < 10; i++)
            Assert.StartsWith(net.London.Url, (await net.GetAsync(path, London)).Headers.Location!.OriginalString, StringComparison.Ordinal);
        // ...while real downloads do fill it, and the spill goes on to Tokyo (so the check above could fail).
        var spilled = 0;
        for (var i = 0; i < 30; i++)
        {
            if ((await net.GetAsync(path, London)).Headers.Location!.OriginalString.StartsWith(net.Tokyo.Url, StringComparison.Ordinal))
                spilled++;
        }
        Assert.InRange(spilled, 1, 30);
    }

    [Fact]
    public async Task A_file_name_beyond_ASCII_gets_its_redirect_and_metalink()
    {
        await using var net = await StartAsync(redis);
        const string name = "noobs/Ünïcödé – 日本.zip";
        Write(net.Files, name, 1000, 3);
        net.Publish(await BuildManifestAsync(net.Files.Path, [NoobsPath, OsPath, name], serial: 8, changedAt: 7));
        await net.StartRedirectorAsync();
        var path = "/" + Escaped(name);

        var redirect = await net.GetAsync(path, London);
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.Equal($"{net.London.Url}{path}", redirect.Headers.Location!.OriginalString);
        var metalink = await net.GetAsync(path + ".meta4", London);
        Assert.Equal(HttpStatusCode.OK, metalink.StatusCode);
        var disposition = metalink.Content.Headers.ContentDisposition!;
        Assert.Equal("Ünïcödé – 日本.zip.meta4", disposition.FileNameStar);
        Assert.Contains(name.Split('/')[1], await metalink.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Right_most_untrusted_hop_is_the_client()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        var path = "/" + Escaped(OsPath);
        // The client claims Tokyo; the (trusted) proxy appended the London address it saw.
        var response = await net.GetAsync(path, $"{Tokyo}, {London}, 127.0.0.1");
        Assert.StartsWith(net.London.Url, response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Same_network_mirror_wins_over_a_nearer_one()
    {
        await using var net = await StartAsync(redis);
        // The Tokyo mirror sits in AS20712, the London sample network's AS (per the generated ASN database).
        await MirrorStore.WriteInfoAsync(net.Db, "tyo", [new(Keyspace.InfoFields.Asn, "20712")]);
        await TestMirrors.ApproveInfoAsync(net.Db, "tyo");
        await net.StartRedirectorAsync();
        var response = await net.GetAsync("/" + Escaped(OsPath), London);
        Assert.StartsWith(net.Tokyo.Url, response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        var json = await net.Http.GetStringAsync($"{net.Url}/{Escaped(OsPath)}?json&fromip={London}");
        Assert.Contains("\"asn\": 20712", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_and_hostile_paths_get_a_short_reason()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        var unknown = await net.GetAsync("/noobs/missing.zip");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("not in the manifest", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        foreach (var target in new[] { "/noobs/../os/raspios.img", "/noobs/%2e%2e/os/raspios.img", "/noobs%2fNOOBS",
                     "/" + new string('a', 4000), "/noobs\\x", "/./os/raspios.img" })
        {
            var (status, body) = await RawGetAsync(net.Url, target);
            Assert.True(status == 400 && body.Contains("\"detail\"", StringComparison.Ordinal), $"{target} → {body}");
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }
        // Kestrel itself refuses an encoded NUL before the app sees it.
        Assert.Equal(400, (await RawGetAsync(net.Url, "/noobs/a%00b")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await net.GetAsync("/-/nothing")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await net.GetAsync("/os/raspios.img?json&fromip=nonsense")).StatusCode);
    }

    [Fact]
    public async Task Json_and_mirrorlist_show_candidates_and_the_left_out_with_reasons()
    {
        await using var net = await StartAsync(redis);
        await net.AddMirrorAsync("stale", "http://127.0.0.1:9", 51.4, -0.1, "GB", "EU", serial: 3);
        await net.AddMirrorAsync("osonly", "http://127.0.0.1:9", 51.4, -0.1, "GB", "EU", sets: "os");
        await net.StartRedirectorAsync();
        var json = await net.Http.GetStringAsync($"{net.Url}/{Escaped(NoobsPath)}?json&fromip={London}");
        using var doc = JsonDocument.Parse(json);
        var candidates = doc.RootElement.GetProperty("candidates").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(["lon", "tyo"], candidates);
        var excluded = doc.RootElement.GetProperty("excluded").EnumerateArray()
            .ToDictionary(e => e.GetProperty("id").GetString()!, e => e.GetProperty("reason").GetString()!);
        Assert.Equal("stale (serial 3)", excluded["stale"]);
        Assert.Equal("missing set", excluded["osonly"]);
        Assert.Equal("GB", doc.RootElement.GetProperty("client").GetProperty("country").GetString());
        Assert.InRange(doc.RootElement.GetProperty("candidates")[0].GetProperty("distanceKm").GetDouble(), 0, 20);

        var html = await net.Http.GetAsync($"{net.Url}/{Escaped(NoobsPath)}?mirrorlist&fromip={Uri.EscapeDataString(Tokyo)}");
        Assert.Equal("text/html", html.Content.Headers.ContentType!.MediaType);
        var page = await html.Content.ReadAsStringAsync();
        Assert.Contains("stale (serial 3)", page, StringComparison.Ordinal);
        Assert.True(page.IndexOf("(tyo)", StringComparison.Ordinal) < page.IndexOf("(lon)", StringComparison.Ordinal), "Tokyo ranks first from Tokyo");
    }

    [Fact]
    public async Task Metalink_lists_size_hashes_pieces_and_mirrors_by_priority()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        foreach (var url in new[] { $"/{Escaped(NoobsPath)}.meta4", $"/{Escaped(NoobsPath)}?metalink" })
        {
            var response = await net.GetAsync(url, London);
            Assert.Equal("application/metalink4+xml", response.Content.Headers.ContentType!.MediaType);
            var xml = XDocument.Parse(await response.Content.ReadAsStringAsync());
            XNamespace ns = "urn:ietf:params:xml:ns:metalink";
            var file = xml.Root!.Element(ns + "file")!;
            var entry = net.Manifest.Files.Single(f => f.Path == NoobsPath);
            Assert.Equal("NOOBS v4.zip", file.Attribute("name")!.Value);
            Assert.Equal(entry.Size.ToString(System.Globalization.CultureInfo.InvariantCulture), file.Element(ns + "size")!.Value);
            Assert.Equal(entry.Sha256, file.Element(ns + "hash")!.Value);
            Assert.Equal(entry.Chunks, file.Element(ns + "pieces")!.Elements(ns + "hash").Select(h => h.Value));
            var urls = file.Elements(ns + "url").ToArray();
            Assert.Equal([net.London.Url, net.Tokyo.Url], urls.Select(u => u.Value[..u.Value.IndexOf("/noobs", StringComparison.Ordinal)]));
            Assert.Equal(["1", "2"], urls.Select(u => u.Attribute("priority")!.Value));
            Assert.Equal("gb", urls[0].Attribute("location")!.Value);
        }
    }

    [Fact]
    public async Task No_candidate_redirects_to_the_origin_or_the_fallbacks()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        await net.ReportAsync("lon", serial: 2);
        await net.ReportAsync("tyo", serial: 2);
        var path = "/" + Escaped(NoobsPath);
        await Eventually.TrueAsync(async () => (await net.GetAsync(path, London)).Headers.Location!.OriginalString.StartsWith(net.Origin.Url, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "stale mirrors are left out and the origin answers");
        await net.App!.StopAsync();
        await net.StartRedirectorAsync(waitReady: false, extra: ["--Redirector:Fallbacks:0=http://fallback.example/pub"]);
        await Eventually.TrueAsync(async () => (await net.GetAsync(path)).StatusCode == HttpStatusCode.Found, TimeSpan.FromSeconds(10), "manifest loaded");
        var response = await net.GetAsync(path);
        Assert.Equal("http://fallback.example/pub/noobs/NOOBS%20v4.zip", response.Headers.Location!.OriginalString);
        Assert.Contains($"<{net.Origin.Url}/noobs/NOOBS%20v4.zip>; rel=duplicate; pri=2", response.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pub_sub_changes_apply_without_polling()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync(extra: ["--Redirector:MirrorRefreshSeconds=3600", "--Redirector:ManifestRefreshSeconds=3600"]);
        var path = "/" + Escaped(OsPath);
        Assert.StartsWith(net.London.Url, (await net.GetAsync(path, London)).Headers.Location!.OriginalString, StringComparison.Ordinal);

        await MirrorStore.SetConfigAsync(net.Db, "lon", (Keyspace.ConfigFields.Draining, "1"));
        await Eventually.TrueAsync(async () => (await net.GetAsync(path, London)).Headers.Location!.OriginalString.StartsWith(net.Tokyo.Url, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), "a drained mirror gets no new redirects after the pub/sub message");

        // A new serial announced on pub/sub brings a new file.
        TestNetwork.Write(net.Files, "rachel/new.zip", 1000, 3);
        var next = await BuildManifestAsync(net.Files.Path, [NoobsPath, OsPath, "rachel/new.zip"], serial: 8, changedAt: 7);
        net.Publish(next);
        Assert.Equal(HttpStatusCode.NotFound, (await net.GetAsync("/rachel/new.zip")).StatusCode);
        await net.Db.PublishAsync(Keyspace.Announce, "8");
        await Eventually.TrueAsync(async () => (await net.GetAsync("/rachel/new.zip")).StatusCode == HttpStatusCode.Found,
            TimeSpan.FromSeconds(10), "announced manifest is loaded");
    }

    [Fact]
    public async Task An_older_serial_never_replaces_the_loaded_manifest()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync(extra: ["--Redirector:ManifestRefreshSeconds=0.2"]);
        var path = "/" + Escaped(NoobsPath);
        Assert.Equal(HttpStatusCode.Found, (await net.GetAsync(path)).StatusCode);
        // A replayed, validly signed serial 5 without the NOOBS file.
        net.Publish(await BuildManifestAsync(net.Files.Path, [OsPath], serial: 5, changedAt: 5));
        await net.Origin.FetchedAgainAsync(3, TimeSpan.FromSeconds(10), "several refresh rounds download the replayed serial");
        Assert.Equal(HttpStatusCode.Found, (await net.GetAsync(path)).StatusCode);
        Assert.Contains("\"serial\":7", await net.Http.GetStringAsync(net.Url + "/-/health"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Https_requests_go_only_to_mirrors_with_an_https_url()
    {
        await using var net = await StartAsync(redis);
        await MirrorStore.WriteInfoAsync(net.Db, "tyo", [new(Keyspace.InfoFields.HttpsUrl, "https://tyo.example")]);
        await TestMirrors.ApproveInfoAsync(net.Db, "tyo");
        await net.StartRedirectorAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, $"{net.Url}/{Escaped(OsPath)}");
        request.Headers.Add("X-Forwarded-For", London);
        request.Headers.Add("X-Forwarded-Proto", "https");
        var response = await net.Http.SendAsync(request);
        // London speaks only http: the https client goes to Tokyo, the one https mirror.
        Assert.Equal("https://tyo.example/os/raspios.img", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_manifest_with_a_bad_signature_is_refused()
    {
        await using var net = await StartAsync(redis);
        var (otherKey, _) = Contracts.Manifests.ManifestSigner.GenerateKeyPair();
        net.Origin.Publish(net.Origin.Published!.Value.Manifest, otherKey);
        await net.StartRedirectorAsync(waitReady: false);
        await Eventually.TrueAsync(async () => (await net.GetAsync("/-/health")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(10), "health reports no manifest");
        await net.Origin.FetchedAgainAsync(2, TimeSpan.FromSeconds(10), "more refresh rounds download the badly signed manifest");
        var response = await net.GetAsync("/" + Escaped(OsPath));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no manifest loaded yet", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<(int Status, string Body)> RawGetAsync(string baseUrl, string target)
    {
        var uri = new Uri(baseUrl);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        await using var stream = tcp.GetStream();
        var request = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(request);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var text = await reader.ReadToEndAsync(cts.Token);
        var status = int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        return (status, text);
    }
}
