using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Downloads.Redirector.Apis;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>
/// The admin gate's browser rules over HTTP (issue #15 §4): state changes need the bearer token and refuse what a
/// browser says came from another site or origin; the browser's Basic login only reads the dashboard. The same
/// attack in a real browser: Downloads.EndToEnd.Tests/Ops/CrossSiteAdminTests.
/// </summary>
public sealed class AdminAuthTests(AdminRig rig) : IClassFixture<AdminRig>
{
    private static async Task<string> DetailAsync(HttpResponseMessage answer) =>
        JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;

    [Fact]
    public async Task Tools_that_send_no_browser_headers_change_state_with_the_bearer_token()
    {
        await rig.AddMirrorAsync("tool");
        using var drain = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/tool/drain", AdminRig.Bearer());
        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        Assert.True((await rig.MirrorAsync("tool"))!.Draining);
        using var capacity = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/tool/capacity", AdminRig.Bearer(),
            content: JsonContent.Create(new { mbps = 750 }));
        Assert.Equal(HttpStatusCode.OK, capacity.StatusCode);
        Assert.Equal(750, (await rig.MirrorAsync("tool"))!.CapacityMbps);
    }

    public static TheoryData<string?, string?> CrossSite => new()
    {
        { "cross-site", null },
        { "same-site", null },                      // another port or a sibling host of ours is not the admin API either
        { "cross-site", "OWN" },                    // a forged-looking pair: either header refuses
        { null, "http://evil.example" },
        { null, "null" },                           // sandboxed frames, data: URLs
        { "same-origin", "http://evil.example" },
        { null, "http://127.0.0.1:1" },             // same host, another port
        { null, "https://OWNHOST" },                // same host, another scheme
    };

    [Theory]
    [MemberData(nameof(CrossSite))]
    public async Task A_state_change_a_browser_sends_from_another_site_or_origin_is_refused_even_with_the_token(string? fetchSite, string? origin)
    {
        await rig.AddMirrorAsync("victim");
        origin = origin?.Replace("OWNHOST", $"127.0.0.1:{rig.Port}", StringComparison.Ordinal).Replace("OWN", rig.Url, StringComparison.Ordinal);
        foreach (var (method, path) in new[] { (HttpMethod.Post, "/-/api/mirrors/victim/drain"), (HttpMethod.Post, "/-/api/mirrors/victim/disable"),
                     (HttpMethod.Delete, "/-/api/mirrors/victim"), (HttpMethod.Post, "/-/api/tokens") })
        {
            using var answer = await rig.SendAsync(method, path, AdminRig.Bearer(), fetchSite, origin);
            Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
            Assert.Contains("refused", await DetailAsync(answer));
        }
        var victim = await rig.MirrorAsync("victim");
        Assert.NotNull(victim);
        Assert.False(victim.Draining);
        Assert.True(victim.Enabled);
    }

    [Theory]
    [InlineData("same-origin", true)]
    [InlineData("none", false)]     // typed into the address bar, a bookmark
    [InlineData(null, true)]
    public async Task A_state_change_from_the_redirectors_own_origin_passes(string? fetchSite, bool sendOrigin)
    {
        await rig.AddMirrorAsync("own");
        using var answer = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/own/drain", AdminRig.Bearer(), fetchSite, sendOrigin ? rig.Url : null);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.True((await rig.MirrorAsync("own"))!.Draining);
    }

    [Fact]
    public async Task The_browser_login_reads_the_dashboard_but_never_changes_state_nor_reads_the_API()
    {
        await rig.AddMirrorAsync("basic");
        using (var view = await rig.SendAsync(HttpMethod.Get, "/-/ops/view", AdminRig.Basic(), "same-origin"))
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        // The right password, same origin even: a browser resends a cached login to whatever another site makes it send.
        foreach (var fetchSite in new string?[] { "same-origin", null })
        {
            using var drain = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/basic/drain", AdminRig.Basic(), fetchSite);
            Assert.Equal(HttpStatusCode.Forbidden, drain.StatusCode);
            Assert.Contains("Bearer", await DetailAsync(drain));
        }
        Assert.False((await rig.MirrorAsync("basic"))!.Draining);
        using var api = await rig.SendAsync(HttpMethod.Get, "/-/api/mirrors", AdminRig.Basic());
        Assert.Equal(HttpStatusCode.Forbidden, api.StatusCode);
    }

    [Fact]
    public async Task Only_the_dashboard_invites_a_browser_login()
    {
        using (var page = await rig.SendAsync(HttpMethod.Get, "/-/ops", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
            Assert.Contains(page.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/-/api/mirrors"), (HttpMethod.Post, "/-/api/tokens") })
        {
            using var answer = await rig.SendAsync(method, path, null);
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
            Assert.Equal(["Bearer"], answer.Headers.WwwAuthenticate.Select(h => h.Scheme));
        }
        using var wrong = await rig.SendAsync(HttpMethod.Get, "/-/api/mirrors", AdminRig.Bearer("guess"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Admin_answers_are_never_stored_nor_sniffed()
    {
        using var issued = await rig.SendAsync(HttpMethod.Post, "/-/api/tokens", AdminRig.Bearer());
        using var refused = await rig.SendAsync(HttpMethod.Post, "/-/api/tokens", AdminRig.Bearer(), "cross-site");
        foreach (var answer in new[] { issued, refused })
        {
            Assert.True(answer.Headers.CacheControl?.NoStore, $"{answer.StatusCode}: Cache-Control {answer.Headers.CacheControl}");
            Assert.Equal("nosniff", answer.Headers.GetValues("X-Content-Type-Options").Single());
        }
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", "http", "127.0.0.1:8080", true)]
    [InlineData("http://Downloads.Example.org", "http", "downloads.example.org:80", true)]
    [InlineData("https://downloads.example.org", "https", "downloads.example.org", true)]
    [InlineData("https://downloads.example.org", "http", "downloads.example.org", false)]
    [InlineData("http://downloads.example.org.evil.example", "http", "downloads.example.org", false)]
    [InlineData("http://127.0.0.1:8081", "http", "127.0.0.1:8080", false)]
    [InlineData("null", "http", "127.0.0.1:8080", false)]
    [InlineData("http://127.0.0.1:8080/path", "http", "127.0.0.1:8080", false)]
    public void Own_origin_is_scheme_host_and_port(string origin, string scheme, string host, bool own) =>
        Assert.Equal(own, CrossSiteGuard.IsOwnOrigin(origin, scheme, new Microsoft.AspNetCore.Http.HostString(host)));
}
