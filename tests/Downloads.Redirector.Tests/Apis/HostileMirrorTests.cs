using System.Net;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>
/// No mirror can make a redirect, the mirror list, Metalink or JSON fail, nor put markup or a script URL on a
/// page, whatever reached its approved record (issue #15 §2): the reader drops what fails validation.
/// </summary>
public sealed class HostileMirrorTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string London = "81.2.69.142";
    private const string Tokyo = "175.16.199.1";

    [Fact]
    public async Task Non_ascii_codes_script_urls_and_markup_in_approved_records_never_fail_an_answer_nor_reach_a_page()
    {
        await using var net = await StartAsync(redis);
        // Near London, each with something a mirror once could write: non-ASCII country and continent, markup in
        // its name, an ASN that is no number (bad1); a javascript: URL as its only URL (js1); an IDN host, control
        // characters in the country and an out-of-range latitude (uni1).
        await net.AddMirrorAsync("bad1", net.London.Url, 51.51, -0.1, "GB", "EU");
        await TestMirrors.WriteApprovedRawAsync(net.Db, "bad1", (Keyspace.InfoFields.Country, "ÖS"), (Keyspace.InfoFields.Continent, "€U"),
            (Keyspace.InfoFields.Name, "<img src=x onerror=alert(1)>"), (Keyspace.InfoFields.Asn, "AS1"));
        await net.AddMirrorAsync("js1", net.London.Url, 51.52, -0.1, "GB", "EU");
        await TestMirrors.WriteApprovedRawAsync(net.Db, "js1", (Keyspace.InfoFields.HttpUrl, "javascript:alert(document.cookie)//"),
            (Keyspace.InfoFields.HttpsUrl, "javascript:alert(2)"));
        await net.AddMirrorAsync("uni1", net.London.Url, 51.53, -0.1, "GB", "EU");
        await TestMirrors.WriteApprovedRawAsync(net.Db, "uni1", (Keyspace.InfoFields.HttpUrl, "http://lönd.example:8080/pub/"),
            (Keyspace.InfoFields.Country, "G\r\nB"), (Keyspace.InfoFields.Latitude, "451"));
        await net.StartRedirectorAsync(true, "--Health:Enabled=false");

        foreach (var client in new[] { London, Tokyo })
        {
            foreach (var path in new[] { NoobsPath, OsPath })
            {
                var file = "/" + Escaped(path);
                foreach (var (query, method) in new[] { ("", HttpMethod.Get), ("", HttpMethod.Head), ("?mirrorlist", HttpMethod.Get),
                    ("?json", HttpMethod.Get), ("?metalink", HttpMethod.Get), (".meta4", HttpMethod.Get) })
                {
                    using var response = await net.GetAsync(file + (query.StartsWith('.') ? query : query.Length > 0 ? $"{query}&fromip={client}" : ""),
                        client, method);
                    var what = $"{method} {path}{query} from {client}";
                    Assert.True(response.StatusCode is HttpStatusCode.Found or HttpStatusCode.OK, $"{what}: {(int)response.StatusCode}");
                    foreach (var header in response.Headers.Concat(response.Content.Headers))
                    {
                        foreach (var value in header.Value)
                            Assert.True(value.All(char.IsAscii), $"{what}: header {header.Key} is not ASCII: {value}");
                    }
                    if (response.Headers.Location is { } location)
                        Assert.Matches("^https?://", location.OriginalString);
                    var body = await response.Content.ReadAsStringAsync();
                    Assert.DoesNotContain("javascript:", body, StringComparison.OrdinalIgnoreCase);
                    Assert.DoesNotContain("ÖS", body, StringComparison.Ordinal);
                    Assert.DoesNotContain("€U", body, StringComparison.Ordinal);
                    Assert.DoesNotContain("<img", body, StringComparison.OrdinalIgnoreCase);
                }
            }
        }

        // The mirror list shows them, encoded, with what is left of their records.
        var page = await net.Http.GetStringAsync($"{net.Url}/{Escaped(NoobsPath)}?mirrorlist&fromip={London}");
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", page, StringComparison.Ordinal);
        Assert.Contains("http://xn--lnd-sna.example:8080/pub/noobs/NOOBS%20v4.zip", page, StringComparison.Ordinal);
        Assert.Contains("(js1)", page, StringComparison.Ordinal);
        Assert.DoesNotContain("G\r\nB", page, StringComparison.Ordinal);
    }
}
