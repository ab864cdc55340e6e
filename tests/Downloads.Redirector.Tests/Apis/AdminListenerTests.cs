using System.Net;
using System.Net.Http.Json;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Cli;
using Downloads.Redirector.Tests.Membership;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>
/// <c>Admin:Urls</c>: the admin API and the dashboard answer on the admin listener only; the public listener answers
/// 404 for them whatever the request says about itself, and keeps serving everything public (enrollment included).
/// </summary>
public sealed class AdminListenerTests(SeparateAdminRig rig) : IClassFixture<SeparateAdminRig>
{
    private static readonly (HttpMethod Method, string Path)[] AdminCalls =
    [
        (HttpMethod.Get, "/-/ops"), (HttpMethod.Get, "/-/ops/view"), (HttpMethod.Get, "/-/ops/assets/ops.js"),
        (HttpMethod.Get, "/-/api/mirrors"), (HttpMethod.Get, "/-/api/stats"), (HttpMethod.Post, "/-/api/tokens"),
        (HttpMethod.Post, "/-/api/mirrors/split/drain"), (HttpMethod.Delete, "/-/api/mirrors/split"),
    ];

    [Fact]
    public async Task The_public_listener_answers_404_for_every_admin_call_even_with_the_token_and_the_admin_port_as_Host()
    {
        await rig.AddMirrorAsync("split");
        foreach (var (method, path) in AdminCalls)
        {
            foreach (var host in new string?[] { null, $"127.0.0.1:{rig.AdminPort}" })
            {
                using var answer = await rig.SendAsync(method, path, AdminRig.Bearer(), baseUrl: rig.Url, host: host);
                Assert.True(answer.StatusCode == HttpStatusCode.NotFound, $"{method} {path} (Host {host ?? "as is"}) answered {answer.StatusCode} on the public listener");
                Assert.DoesNotContain(answer.Headers.WwwAuthenticate, _ => true);
            }
        }
        // Refused before the body is read: a broken body changes nothing about the answer.
        using var broken = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/split/capacity", AdminRig.Bearer(), baseUrl: rig.Url,
            content: new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, broken.StatusCode);
        var split = await rig.MirrorAsync("split");
        Assert.NotNull(split);
        Assert.False(split.Draining);
    }

    [Fact]
    public async Task The_admin_listener_serves_the_API_and_the_dashboard()
    {
        await rig.AddMirrorAsync("admin-side");
        using (var page = await rig.SendAsync(HttpMethod.Get, "/-/ops", AdminRig.Basic()))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using (var list = await rig.SendAsync(HttpMethod.Get, "/-/api/mirrors", AdminRig.Bearer()))
            Assert.Contains("admin-side", await list.Content.ReadAsStringAsync());
        using (var drain = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/admin-side/drain", AdminRig.Bearer()))
            Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        Assert.True((await rig.MirrorAsync("admin-side"))!.Draining);
        // The browser rules hold on the admin listener as well.
        using var crossSite = await rig.SendAsync(HttpMethod.Post, "/-/api/mirrors/admin-side/undrain", AdminRig.Bearer(), "cross-site");
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
    }

    [Fact]
    public async Task The_public_listener_keeps_health_metrics_and_enrollment()
    {
        using (var health = await rig.SendAsync(HttpMethod.Get, "/-/health", null, baseUrl: rig.Url))
            Assert.Contains("\"status\"", await health.Content.ReadAsStringAsync());
        using (var metrics = await rig.SendAsync(HttpMethod.Get, "/-/metrics", null, baseUrl: rig.Url))
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        // Mirrors enroll over the internet: a wrong token is refused by enrollment itself, not hidden.
        using var enroll = await rig.Http.PostAsJsonAsync(rig.Url + "/-/api/enroll", Members.Request("newcomer", "no-such-token"));
        Assert.Equal(HttpStatusCode.Forbidden, enroll.StatusCode);
    }

    [Fact]
    public async Task The_CLI_works_on_the_admin_listener_and_says_where_to_go_on_the_public_one()
    {
        await rig.AddMirrorAsync("cli-split");
        async Task<(int Code, string Out, string Err)> RunAsync(string url, params string[] args)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await OpsCli.RunAsync([.. args, "--url", url, "--token", AdminRig.Token], output, error, _ => null);
            return (code, output.ToString(), error.ToString());
        }
        var onAdmin = await RunAsync(rig.AdminUrl, "mirrors", "drain", "cli-split");
        Assert.Equal((0, ""), (onAdmin.Code, onAdmin.Err));
        var onPublic = await RunAsync(rig.Url, "mirrors", "undrain", "cli-split");
        Assert.Equal(ExitCodes.Refused, onPublic.Code);
        Assert.Contains("admin listener (Admin:Urls)", onPublic.Err);
        Assert.True((await rig.MirrorAsync("cli-split"))!.Draining);
    }

    [Theory]
    [InlineData("https://127.0.0.1:1", "--urls=http://127.0.0.1:2", "every listener must be http://HOST:PORT")]
    [InlineData("http://ops.example.org:1", "--urls=http://127.0.0.1:2", "must name an IP address or localhost")]
    [InlineData("http://127.0.0.1:1", "--urls=https://127.0.0.1:2", "every listener must be http://HOST:PORT")]
    [InlineData("not a url", "--urls=http://127.0.0.1:2", "is not a listen URL")]
    public void A_listener_setting_that_cannot_be_meant_stops_the_start_with_one_line(string adminUrls, string urls, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => RedirectorApp.Build([urls, $"--Admin:Urls={adminUrls}",
            "--Redis:Configuration=127.0.0.1:1,abortConnect=false", $"--Redirector:PublicKey={ManifestSigner.GenerateKeyPair().PublicKey}"]));
        Assert.Contains(expected, error.Message);
    }
}
