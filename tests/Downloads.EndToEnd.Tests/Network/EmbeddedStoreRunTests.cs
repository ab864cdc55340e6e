using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// What a newcomer without Redis gets: <c>./run.sh</c> itself on the embedded store (Garnet), on ports of its own and a
/// scratch state folder. It says plainly what is weaker there, redirects to the nearest mirror once it has synced, the
/// download is the published file, the mirror's reports reach the store, and the redirector's checksum files verify
/// the download with the real sha256sum and minisign.
/// </summary>
public sealed class EmbeddedStoreRunTests
{
    private const string London = "81.2.69.142";
    private const string Token = "embedded-store-test-token";

    [Fact]
    public async Task Run_sh_on_the_embedded_store_redirects_serves_reports_and_verifies()
    {
        using var state = new TempDirectory("runsh");
        var portBase = FreeBase();
        await using var run = RunScript.Start(RepositoryRoot(), new Dictionary<string, string>
        {
            ["DOWNLOADS_STORE"] = "embedded",
            ["DOWNLOADS_SCALE"] = "tiny",
            ["DOWNLOADS_STATE"] = state.Path,
            ["DOWNLOADS_PORT_BASE"] = portBase.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DOWNLOADS_ADMIN_TOKEN"] = Token,
            // The services this test project was built with (Release, as test.sh builds): run.sh's own build would be a
            // no-op costing ~30 s. From another configuration, run.sh builds Release itself, as for a newcomer.
            ["DOWNLOADS_NO_BUILD"] = ReleaseBuild ? "1" : "",
        });
        await run.WaitForAsync("Downloads is running", TimeSpan.FromMinutes(ReleaseBuild ? 3 : 10));
        Assert.Contains("share ONE Redis user", run.Output, StringComparison.Ordinal);
        Assert.Contains("embedded Garnet: ONE Redis user shared by every mirror", run.Output, StringComparison.Ordinal);

        var redirector = $"http://127.0.0.1:{portBase + 80}";
        var cambridge = $"http://127.0.0.1:{portBase + 1}";
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };
        var manifest = ManifestCodec.TryParse(await http.GetByteArrayAsync($"http://127.0.0.1:{portBase}{ManifestDefaults.ManifestPath}"), out _)!;
        var file = manifest.Files.Single(f => f.Path == "noobs/NOOBS_v4_0.zip");

        // Redirect: London's nearest mirror (Cambridge) once it has synced and been approved.
        string? location = null;
        await Eventually.TrueAsync(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, $"{redirector}/{file.Path}");
            request.Headers.Add("X-Forwarded-For", London);
            using var response = await http.SendAsync(request);
            location = response.Headers.Location?.OriginalString;
            return response.StatusCode == HttpStatusCode.Found && location == $"{cambridge}/{file.Path}";
        }, TimeSpan.FromSeconds(90), $"a London client is sent to uk-cam (last: {location})\n{run.Output}");

        // Download: the mirror serves the published bytes.
        var bytes = await http.GetByteArrayAsync(location);
        Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));

        // Mirror reporting: the bytes the mirror served reach the store, through the one shared user.
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        long served = 0;
        await Eventually.TrueAsync(async () =>
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync($"{redirector}/-/api/mirrors"));
            var ukCam = doc.RootElement.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "uk-cam");
            served = ukCam.GetProperty("bytesServed").GetInt64();
            return ukCam.GetProperty("alive").GetBoolean() && ukCam.GetProperty("serial").GetInt64() == manifest.Serial && served >= file.Size;
        }, TimeSpan.FromSeconds(30), $"uk-cam reports the download (served {served} bytes so far)");

        // Checksums: a user's check of the download, with the redirector's files and published key.
        using var downloads = new TempDirectory("runsh-dl");
        await File.WriteAllBytesAsync(downloads.Combine("NOOBS_v4_0.zip"), bytes);
        foreach (var (name, url) in new[] { ("SHA256SUMS", "noobs/SHA256SUMS"), ("SHA256SUMS.minisig", "noobs/SHA256SUMS.minisig"), ("minisign.pub", "-/minisign.pub") })
            await File.WriteAllBytesAsync(downloads.Combine(name), await http.GetByteArrayAsync($"{redirector}/{url}"));
        var minisign = await ExternalTool.RunAsync("minisign", downloads.Path, "-V", "-m", "SHA256SUMS");
        Assert.True(minisign.ExitCode == 0, minisign.Output);
        var sums = await ExternalTool.RunAsync("sha256sum", downloads.Path, "--ignore-missing", "-c", "SHA256SUMS");
        Assert.True(sums.ExitCode == 0 && sums.Output.Contains("NOOBS_v4_0.zip: OK", StringComparison.Ordinal), sums.Output);

        // Ctrl-C (here SIGTERM) stops everything run.sh started.
        var stopped = await run.StopAsync();
        Assert.True(stopped, run.Output);
        Assert.Contains("run.sh: stopped", run.Output, StringComparison.Ordinal);
        Assert.False(await AnswersAsync(redirector), "the redirector is gone after run.sh stopped");
    }

    private static bool ReleaseBuild =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    private static async Task<bool> AnswersAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            await http.GetAsync(url + "/-/health");
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>A base port whose run.sh ports (base, +1..+3, +80, +90) are all free, below the ephemeral range.</summary>
    private static int FreeBase()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var candidate = Random.Shared.Next(20_000, 30_000);
            if (new[] { 0, 1, 2, 3, 80, 90 }.All(offset => IsFree(candidate + offset)))
                return candidate;
        }
        throw new InvalidOperationException("no free block of ports for run.sh between 20000 and 30090");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Downloads.sln")) && File.Exists(Path.Combine(dir.FullName, "run.sh")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no repository root (Downloads.sln, run.sh) above {AppContext.BaseDirectory}");
    }

    /// <summary>./run.sh as its own process group's leader's child, its output collected; stopped with SIGTERM like Ctrl-C.</summary>
    private sealed class RunScript : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private RunScript(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_output)
                    return _output.ToString();
            }
        }

        public static RunScript Start(string root, Dictionary<string, string> environment)
        {
            var psi = new ProcessStartInfo("bash") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(root, "run.sh"));
            foreach (var key in psi.Environment.Keys.ToArray())
            {
                // As a newcomer's shell: none of the test host's runtime or configuration variables.
                if (key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase)
                    || key.StartsWith("DOWNLOADS_", StringComparison.OrdinalIgnoreCase) || key.Contains("__", StringComparison.Ordinal)
                    || key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                    psi.Environment.Remove(key);
            }
            foreach (var (key, value) in environment)
                psi.Environment[key] = value;
            return new RunScript(Process.Start(psi)!);
        }

        public async Task WaitForAsync(string text, TimeSpan limit)
        {
            try
            {
                await Eventually.TrueAsync(() => Output.Contains(text, StringComparison.Ordinal) || _process.HasExited, limit, $"run.sh prints '{text}'");
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}\n{Output}", e);
            }
            if (_process.HasExited)
                Assert.Fail($"run.sh exited ({_process.ExitCode}):\n{Output}");
        }

        /// <summary>Sends SIGTERM and waits for run.sh to stop its services and exit; false when it did not within 30 s.</summary>
        public async Task<bool> StopAsync()
        {
            if (_process.HasExited)
                return true;
            var kill = await ExternalTool.RunAsync("kill", "/", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(kill.ExitCode == 0, kill.Output);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            // A failed test still stops what run.sh started: SIGTERM first (its trap stops the services), then the tree.
            await StopAsync();
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
                return;
            lock (_output)
                _output.AppendLine(line);
        }
    }
}
