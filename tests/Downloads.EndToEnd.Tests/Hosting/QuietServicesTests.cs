using System.Net;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Hosting;

/// <summary>
/// Production defaults as shipped (contracts/Hosting/ServiceDefaults.cs), on the real processes: at the
/// default log level a served request writes nothing, and no service watches its working directory (nor its
/// application folder) for configuration changes.
/// </summary>
[Collection(QuietNetwork.Collection)]
public sealed class QuietServicesTests(QuietNetwork net)
{
    private const int Requests = 20;

    /// <summary>Sends the requests and returns how many bytes <paramref name="service"/> wrote meanwhile.</summary>
    private async Task<long> BytesWrittenWhileAsync(ServiceProcess service, params (string Url, HttpStatusCode Status)[] requests)
    {
        Assert.Contains("Now listening on", service.Output, StringComparison.Ordinal); // the output is captured, Information is on
        var before = service.OutputBytes;
        for (var i = 0; i < Requests; i++)
        {
            foreach (var (url, status) in requests)
            {
                using var response = await net.Http.GetAsync(url);
                Assert.Equal(status, response.StatusCode);
                await response.Content.ReadAsByteArrayAsync();
            }
        }
        // The console logger writes from its own queue: give a line time to come out. A sleep that shows nothing
        // happens: there is no condition to wait for when the expected output is none.
        await Task.Delay(500);
        return service.OutputBytes - before;
    }

    [Fact]
    public async Task The_origin_writes_nothing_for_file_and_manifest_requests()
    {
        var written = await BytesWrittenWhileAsync(net.Origin,
            ($"{net.OriginUrl}/{QuietNetwork.FilePath}", HttpStatusCode.OK), ($"{net.OriginUrl}{ManifestDefaults.ManifestPath}", HttpStatusCode.OK));
        Assert.True(written == 0, $"{written} bytes written for {2 * Requests} requests:\n{net.Origin.Output}");
    }

    [Fact]
    public async Task A_mirror_writes_nothing_for_file_requests()
    {
        var written = await BytesWrittenWhileAsync(net.Mirror, ($"{net.MirrorUrl}/{QuietNetwork.FilePath}", HttpStatusCode.OK));
        Assert.True(written == 0, $"{written} bytes written for {Requests} requests:\n{net.Mirror.Output}");
    }

    [Fact]
    public async Task The_redirector_writes_nothing_for_redirects_and_unknown_paths()
    {
        var written = await BytesWrittenWhileAsync(net.Redirector,
            ($"{net.RedirectorUrl}/{QuietNetwork.FilePath}", HttpStatusCode.Found), ($"{net.RedirectorUrl}/noobs/not-there.zip", HttpStatusCode.NotFound));
        Assert.True(written == 0, $"{written} bytes written for {2 * Requests} requests:\n{net.Redirector.Output}");
    }

    [Fact]
    public async Task Request_logs_are_one_documented_setting_away()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var redirector = net.StartRedirector(url, $"--{ServiceDefaults.HostingDiagnosticsLogLevelKey}=Information");
        await net.UntilAsync(redirector, $"{url}/{QuietNetwork.FilePath}", HttpStatusCode.Found);
        await redirector.WaitForQuietAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        var before = redirector.OutputBytes;

        using var response = await net.Http.GetAsync($"{url}/{QuietNetwork.FilePath}?quiet-test");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);

        await Eventually.TrueAsync(() => redirector.Output.Contains("?quiet-test", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the request logged");
        Assert.Contains("Request starting", redirector.Output, StringComparison.Ordinal);
        Assert.True(redirector.OutputBytes > before);
    }

    [Fact]
    public async Task No_service_watches_its_working_directory_or_its_application_folder()
    {
        // Files appear under the working directory while the services run (the mirror's data folder is there
        // too, as under Ansible); a configuration watcher would hold an inotify watch on each of its folders.
        var scratch = Directory.CreateDirectory(Path.Combine(net.WorkingDirectory, "logs", "more"));
        await File.WriteAllTextAsync(Path.Combine(scratch.FullName, "a.log"), "written while the services run\n");
        var watched = await QuietNetwork.DirectoryInodesAsync(net.WorkingDirectory);
        watched.UnionWith(await QuietNetwork.DirectoryInodesAsync(AppContext.BaseDirectory));
        Assert.True(watched.Count > 3, "the folders' inodes were read");

        foreach (var (name, service) in new[] { ("origin", net.Origin), ("mirror", net.Mirror), ("redirector", net.Redirector) })
        {
            var watches = service.InotifyWatchedInodes();
            var offending = watches.Where(watched.Contains).ToArray();
            Assert.True(offending.Length == 0,
                $"{name} watches {offending.Length} of the working directory's or application folder's directories (inodes {string.Join(", ", offending)})");
        }
    }
}
