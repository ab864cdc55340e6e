using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>The <c>?mirrorlist</c> page is rendered from a template: what mirrors declare about themselves is text, never markup.</summary>
public sealed class MirrorListPageTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string London = "81.2.69.142";
    private const string Script = "<script>alert(1)</script>";

    [Fact]
    public async Task Hostile_names_and_urls_are_encoded_and_other_scripts_letters_kept()
    {
        await using var net = await StartAsync(redis);
        // A candidate whose name and URL try to break out of the element and the attribute …
        // (written straight into the approved record, as if approval had let them through: the page must hold anyway) …
        await net.AddMirrorAsync("evil", "http://127.0.0.1:9", 51.5, -0.1, "GB", "EU");
        await TestMirrors.WriteApprovedRawAsync(net.Db, "evil", (Keyspace.InfoFields.Name, Script + " & co"),
            (Keyspace.InfoFields.HttpUrl, "http://127.0.0.1:9/\"><img src=x onerror=alert(2)>"));
        // … one left out (stale) with the same name, and a harmless one named in Swedish.
        await net.AddMirrorAsync("stale", "http://127.0.0.1:9", 51.4, -0.1, "GB", "EU", serial: 3);
        await TestMirrors.WriteApprovedRawAsync(net.Db, "stale", (Keyspace.InfoFields.Name, Script));
        await TestMirrors.WriteApprovedRawAsync(net.Db, "lon", (Keyspace.InfoFields.Name, "Linköping & Luleå"));
        // No probes: the hostile URL is a name, not a server, and must stay a candidate.
        await net.StartRedirectorAsync(true, "--Health:Enabled=false");

        using var answer = await net.Http.GetAsync($"{net.Url}/{Escaped(NoobsPath)}?mirrorlist&fromip={London}");
        var page = await answer.Content.ReadAsStringAsync();

        Assert.StartsWith("<!DOCTYPE html>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</a> (evil)", page, StringComparison.Ordinal);
        Assert.Contains("<td>&lt;script&gt;alert(1)&lt;/script&gt; (stale)</td>", page, StringComparison.Ordinal);
        // The reader keeps URLs only in their normalized ASCII form: the quote and brackets are percent-encoded.
        Assert.Contains("href=\"http://127.0.0.1:9/%22%3E%3Cimg%20src=x%20onerror=alert(2)%3E/noobs/NOOBS%20v4.zip\"", page, StringComparison.Ordinal);
        Assert.Contains("Linköping &amp; Luleå</a> (lon)", page, StringComparison.Ordinal);

        // Should markup ever get through, the page's policy runs no script and applies no style but its own block (by hash).
        var policy = answer.Headers.GetValues("Content-Security-Policy").Single().Split(';', StringSplitOptions.TrimEntries);
        var style = Regex.Match(page, "<style>(.*?)</style>", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(style);
        Assert.Contains($"style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(style)))}'", policy);
        foreach (var directive in new[] { "default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'" })
            Assert.Contains(directive, policy);
        Assert.DoesNotContain(policy, d => d.StartsWith("script-src", StringComparison.Ordinal) || d.Contains("unsafe", StringComparison.Ordinal));
        Assert.Equal("nosniff", answer.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", answer.Headers.GetValues("Referrer-Policy").Single());
    }
}
