using System.Net;
using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>
/// The redirector answers checksum files itself (never a redirect), built from the verified manifest and signed by the
/// origin's key; checked with the real sha256sum and minisign, as a user would.
/// </summary>
public class ChecksumsApiTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string London = "81.2.69.142";

    /// <summary>The network with its manifest's folder signatures, as the origin publishes it.</summary>
    private static async Task<TestNetwork> StartSignedAsync(RedisServer redis, Func<Manifest, Manifest>? change = null)
    {
        var net = await StartAsync(redis);
        var manifest = change?.Invoke(net.Manifest) ?? net.Manifest;
        net.Publish(manifest with { Folders = FolderSignatures.Sign(manifest.Files, net.PrivateKey, manifest.Serial, manifest.Published) });
        await net.StartRedirectorAsync();
        return net;
    }

    [Fact]
    public async Task Real_sha256sum_and_minisign_verify_a_download_with_the_redirectors_checksum_files()
    {
        await using var net = await StartSignedAsync(redis);
        using var dir = new TempDirectory("verify");
        var folder = $"{net.Url}/noobs";
        async Task Curl(string output, string url)
        {
            var curl = await ExternalTool.RunAsync("curl", dir.Path, "-sSfL", "-H", $"X-Forwarded-For: {London}", "-o", output, url);
            Assert.True(curl.ExitCode == 0, $"{url}: {curl.Output}");
        }
        await Curl("NOOBS v4.zip", $"{folder}/NOOBS%20v4.zip");
        await Curl("SHA256SUMS", $"{folder}/SHA256SUMS");
        await Curl("SHA256SUMS.minisig", $"{folder}/SHA256SUMS.minisig");
        await Curl("NOOBS v4.zip.sha256", $"{folder}/NOOBS%20v4.zip.sha256");
        await Curl("minisign.pub", $"{net.Url}/-/minisign.pub");

        var minisign = await ExternalTool.RunAsync("minisign", dir.Path, "-V", "-p", "minisign.pub", "-m", "SHA256SUMS");
        Assert.True(minisign.ExitCode == 0, minisign.Output);
        Assert.Contains("file:noobs/SHA256SUMS\tserial:7", minisign.Output, StringComparison.Ordinal);
        var sums = await ExternalTool.RunAsync("sha256sum", dir.Path, "--strict", "-c", "SHA256SUMS");
        Assert.True(sums.ExitCode == 0, sums.Output);
        Assert.Contains("NOOBS v4.zip: OK", sums.Output, StringComparison.Ordinal);
        var one = await ExternalTool.RunAsync("sha256sum", dir.Path, "--strict", "-c", "NOOBS v4.zip.sha256");
        Assert.True(one.ExitCode == 0, one.Output);
        // The mirror served the file; the checksums came from the redirector alone.
        Assert.Equal(1, net.London.Requests);
        Assert.Equal(0, net.Tokyo.Requests);
    }

    [Fact]
    public async Task Checksum_files_are_answered_directly_with_exact_bytes()
    {
        await using var net = await StartSignedAsync(redis);
        var entry = net.Manifest.Files.Single(f => f.Path == NoobsPath);

        var single = await net.GetAsync($"/{Escaped(NoobsPath)}.sha256?mirrorlist");
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal("text/plain", single.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"{entry.Sha256}  NOOBS v4.zip\n", await single.Content.ReadAsStringAsync());

        var list = await net.GetAsync("/noobs/SHA256SUMS");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal("no-cache", list.Headers.CacheControl!.ToString());
        var bytes = await list.Content.ReadAsByteArrayAsync();
        Assert.Equal(Sha256Sums.Build([(entry.Path, Convert.FromHexString(entry.Sha256))]), bytes);
        var signature = await net.Http.GetStringAsync($"{net.Url}/noobs/SHA256SUMS.minisig");
        Assert.True(Minisign.Verify(bytes, signature, ManifestSigner.PublicKeyOf(net.PrivateKey)));
        Assert.Equal(Minisign.PublicKeyFile(ManifestSigner.PublicKeyOf(net.PrivateKey)), await net.Http.GetStringAsync($"{net.Url}/-/minisign.pub"));

        var head = await net.GetAsync("/os/SHA256SUMS", method: HttpMethod.Head);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Paths_match_exactly_or_are_not_found()
    {
        await using var net = await StartSignedAsync(redis);
        foreach (var path in new[] { "/SHA256SUMS", "/noobs/sha256sums", "/noobs/SHA256SUMS.sig", "/noobs/x/SHA256SUMS", "/nothing/SHA256SUMS",
                     $"/{Escaped(NoobsPath)}.SHA256", $"/{Escaped(NoobsPath)}.sha256.sha256", "/noobs/NOOBS.sha256", "/noobs/SHA256SUMS.minisig.sha256" })
            Assert.True((await net.GetAsync(path)).StatusCode == HttpStatusCode.NotFound, path);
        foreach (var path in new[] { "/noobs/SHA256SUMS/", "/noobs//SHA256SUMS", "/noobs/../os/SHA256SUMS" })
            Assert.True(await RawStatusAsync(net.Url, path) == 400, path);
    }

    [Fact]
    public async Task A_real_checksum_file_in_the_manifest_wins_and_is_redirected_like_any_file()
    {
        await using var net = await StartAsync(redis);
        string[] own = ["noobs/SHA256SUMS", "noobs/SHA256SUMS.minisig", "os/raspios.img.sha256"];
        for (var i = 0; i < own.Length; i++)
            Write(net.Files, own[i], 100, 10 + i);
        var manifest = await BuildManifestAsync(net.Files.Path, [NoobsPath, OsPath, .. own], serial: 7, changedAt: 7);
        net.Publish(manifest with { Folders = FolderSignatures.Sign(manifest.Files, net.PrivateKey, 7, manifest.Published) });
        await net.StartRedirectorAsync();

        foreach (var path in own)
        {
            var response = await net.GetAsync("/" + path, London);
            Assert.Equal(HttpStatusCode.Found, response.StatusCode);
            Assert.Equal($"{net.London.Url}/{path}", response.Headers.Location!.OriginalString);
        }
        // No generated list (nor signature) for a folder that has its own; the other folders still get theirs.
        Assert.Equal(["os"], net.Manifest.Folders!.Select(f => f.Path));
        var generated = await net.GetAsync("/os/SHA256SUMS");
        Assert.Equal(HttpStatusCode.OK, generated.StatusCode);
        Assert.Equal(2, (await generated.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task A_folder_without_a_signature_serves_its_list_but_no_minisig()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        Assert.Equal(HttpStatusCode.OK, (await net.GetAsync("/noobs/SHA256SUMS")).StatusCode);
        var minisig = await net.GetAsync("/noobs/SHA256SUMS.minisig");
        Assert.Equal(HttpStatusCode.NotFound, minisig.StatusCode);
        Assert.Contains("no signature for this folder", await minisig.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signature_over_other_bytes_is_not_served()
    {
        await using var net = await StartAsync(redis);
        // Signed over a list that differs from the manifest's files (as from an origin of another version).
        var other = net.Manifest.Files.Select(f => f with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(f.Path))) }).ToList();
        net.Publish(net.Manifest with { Folders = FolderSignatures.Sign(other, net.PrivateKey, 7, net.Manifest.Published) });
        await net.StartRedirectorAsync();
        Assert.Equal(HttpStatusCode.OK, (await net.GetAsync("/noobs/SHA256SUMS")).StatusCode);
        var minisig = await net.GetAsync("/noobs/SHA256SUMS.minisig");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, minisig.StatusCode);
        Assert.Contains("does not match", await minisig.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>The status of a request sent with its target as written (HttpClient would normalise the dots away).</summary>
    private static async Task<int> RawStatusAsync(string baseUrl, string target)
    {
        var uri = new Uri(baseUrl);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: {uri.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var status = await reader.ReadLineAsync(cts.Token) ?? "";
        return int.Parse(status.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
    }
}
