using System.Net;
using System.Net.Http.Headers;
using Downloads.Contracts.Manifests;
using Downloads.Origin.Sample;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;

namespace Downloads.Origin.Tests.Apis;

public class OriginServiceTests
{
    private const string NoRedis = "127.0.0.1:1,connectTimeout=200";

    [Fact]
    public async Task Fresh_origin_publishes_at_start_then_serves_a_cli_publish_and_ranged_files()
    {
        using var dir = new TempDirectory("origin");
        var root = dir.Combine("root");
        var state = dir.Combine("state");
        await SampleTree.GenerateAsync(root, SampleScale.Tiny);
        var keyFile = dir.Combine("key");
        var output = new StringWriter();
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", keyFile], output));
        var publicKey = output.ToString().Trim();
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        string[] config = [$"--Origin:Root={root}", $"--Origin:StateDir={state}", $"--Origin:PrivateKeyFile={keyFile}", "--Origin:ChunkSize=16384", $"--Redis:Configuration={NoRedis}"];
        await using var app = OriginApp.Build([$"--urls={url}", .. config]);
        await app.StartAsync();
        using var http = new HttpClient();

        var bytes = await http.GetByteArrayAsync($"{url}/-/manifest.json");
        var signature = await http.GetStringAsync($"{url}/-/manifest.json.sig");
        Assert.True(ManifestSigner.Verify(bytes, signature, publicKey));
        Assert.Equal(1, ManifestCodec.TryParse(bytes, out _)!.Serial);

        // Range + ETag on a file.
        var request = new HttpRequestMessage(HttpMethod.Get, $"{url}/noobs/NOOBS_v4_0.zip");
        request.Headers.Range = new RangeHeaderValue(10, 19);
        using (var response = await http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(File.ReadAllBytes(Path.Combine(root, "noobs", "NOOBS_v4_0.zip")).AsSpan(10, 10).ToArray(), await response.Content.ReadAsByteArrayAsync());
            Assert.NotNull(response.Headers.ETag);
        }

        // An edited file is refused until it is published (its bytes no longer match the manifest).
        await File.WriteAllTextAsync(Path.Combine(root, "os", "NEW.txt"), "hello\n");
        await File.AppendAllTextAsync(Path.Combine(root, "noobs", "README.txt"), "edit\n");
        using (var stale = await http.GetAsync($"{url}/noobs/README.txt"))
            Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);

        // `origin publish` as a separate command: the running origin serves its serial at once.
        Assert.Equal(0, await OriginCommands.RunAsync(["publish", .. config], new StringWriter()));
        var second = ManifestCodec.TryParse(await http.GetByteArrayAsync($"{url}/-/manifest.json"), out _)!;
        Assert.Equal(2, second.Serial);
        Assert.Equal("hello\n", await http.GetStringAsync($"{url}/os/NEW.txt"));
        Assert.EndsWith("edit\n", await http.GetStringAsync($"{url}/noobs/README.txt"), StringComparison.Ordinal);

        using var missing = await http.GetAsync($"{url}/noobs/nope.zip");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Commands_fail_with_a_message_and_a_non_zero_exit()
    {
        using var dir = new TempDirectory("origin");
        var error = new StringWriter();
        Assert.NotEqual(0, await OriginCommands.RunAsync(["publish"], new StringWriter(), error));
        Assert.Contains("--Origin:Root", error.ToString(), StringComparison.Ordinal);

        var key = dir.Combine("key");
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", key], new StringWriter()));
        error = new StringWriter();
        Assert.NotEqual(0, await OriginCommands.RunAsync(["keygen", "--out", key], new StringWriter(), error));
        Assert.Contains("--force", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/%2e%2e/etc/passwd")]
    [InlineData("/noobs/..%2f..%2fetc%2fpasswd")]
    [InlineData("/noobs/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/..%2fstate%2fcurrent")]
    public async Task Traversal_attempts_are_refused(string rawPath)
    {
        using var dir = new TempDirectory("origin");
        var (priv, _) = ManifestSigner.GenerateKeyPair();
        await SampleTree.GenerateAsync(dir.Combine("root"), SampleScale.Tiny);
        var port = FreePort.Next();
        await using var app = OriginApp.Build([$"--urls=http://127.0.0.1:{port}", $"--Origin:Root={dir.Combine("root")}", $"--Origin:StateDir={dir.Combine("state")}",
            $"--Origin:PrivateKey={priv}", $"--Redis:Configuration={NoRedis}"]);
        await app.StartAsync();

        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        Assert.Matches("^HTTP/1.1 (400|404) ", await reader.ReadLineAsync());
    }
}
