using System.Diagnostics;
using System.Security.Cryptography;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using static Downloads.Redirector.Tests.Network.TestNetwork;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>Real download clients (curl, wget, aria2c) follow the redirector to a stand-in mirror and get the exact bytes.</summary>
public class DownloadClientTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private const string London = "81.2.69.142";

    [Fact]
    public async Task Curl_and_wget_follow_the_redirect_to_identical_bytes()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        using var outDir = new TempDirectory("dl");
        var url = $"{net.Url}/{Escaped(NoobsPath)}";
        var expected = await File.ReadAllBytesAsync(net.Files.Combine("noobs", "NOOBS v4.zip"));

        await RunAsync("curl", "-sS", "-f", "-L", "-H", $"X-Forwarded-For: {London}", "-o", Path.Combine(outDir.Path, "curl.bin"), url);
        await RunAsync("wget", "-q", "--header", $"X-Forwarded-For: {London}", "-O", Path.Combine(outDir.Path, "wget.bin"), url);

        Assert.Equal(expected, await File.ReadAllBytesAsync(Path.Combine(outDir.Path, "curl.bin")));
        Assert.Equal(expected, await File.ReadAllBytesAsync(Path.Combine(outDir.Path, "wget.bin")));
        Assert.True(net.London.Requests >= 2, "both clients were sent to the London mirror");
        Assert.Equal(0, net.Tokyo.Requests);
    }

    [Fact]
    public async Task Aria2c_downloads_through_the_meta4_and_verifies_the_hash()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        using var outDir = new TempDirectory("dl");
        var output = await RunAsync("aria2c", "--no-conf", "--console-log-level=warn", "--summary-interval=0", "-d", outDir.Path,
            "--header", $"X-Forwarded-For: {London}", $"{net.Url}/{Escaped(NoobsPath)}.meta4");
        var downloaded = await File.ReadAllBytesAsync(Path.Combine(outDir.Path, "NOOBS v4.zip"));
        var entry = net.Manifest.Files.Single(f => f.Path == NoobsPath);
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(downloaded)));
        Assert.True(net.London.Requests + net.Tokyo.Requests > 0, output);
    }

    [Fact]
    public async Task Aria2c_uses_the_link_headers_and_digest()
    {
        await using var net = await StartAsync(redis);
        await net.StartRedirectorAsync();
        // The mirror in Location fails under the client (the redirector still thinks it fine): only the
        // Link alternate can deliver the file.
        net.London.Refuse = true;
        using var outDir = new TempDirectory("dl");
        var output = await RunAsync("aria2c", "--no-conf", "--console-log-level=info", "--summary-interval=0", "-d", outDir.Path, "-o", "noobs.zip",
            "--max-tries=2", "--retry-wait=0", "--header", $"X-Forwarded-For: {London}", $"{net.Url}/{Escaped(NoobsPath)}");
        var downloaded = await File.ReadAllBytesAsync(Path.Combine(outDir.Path, "noobs.zip"));
        var entry = net.Manifest.Files.Single(f => f.Path == NoobsPath);
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(downloaded)));
        Assert.True(net.London.Requests > 0, "aria2c tried the Location first");
        Assert.True(net.Tokyo.Requests > 0, "aria2c took the Link alternate:\n" + output);
    }

    private static async Task<string> RunAsync(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);
        var text = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"{exe} exited {process.ExitCode}: {text}");
        return text;
    }
}
