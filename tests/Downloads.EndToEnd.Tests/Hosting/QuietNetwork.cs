using System.Diagnostics;
using System.Globalization;
using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Hosting;

/// <summary>
/// The three built services as separate processes, each started from a scratch working directory that is
/// not its application folder, with a clean environment and only the settings it needs to run: real
/// redis-server, the origin with two files, a mirror (its data folder inside the working directory, as the
/// Ansible role lays it out) syncing from the origin, and a redirector. Each service is ready (the file
/// served, the redirect answered) and its start-up lines have settled when the tests begin.
/// </summary>
public sealed class QuietNetwork : IAsyncLifetime
{
    /// <summary>The collection of the test classes that share one network.</summary>
    public const string Collection = "quiet network";

    public const string FilePath = "noobs/NOOBS_quiet.zip";

    private readonly RedisServer _redis = new();
    private readonly TempDirectory _dir = new("quiet");

    public HttpClient Http { get; } = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The working directory of every service.</summary>
    public string WorkingDirectory => _dir.Combine("work");

    public string PublicKey { get; private set; } = "";
    public string RedisConfiguration => _redis.Configuration;
    public string OriginUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";
    public string MirrorUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";
    public string RedirectorUrl { get; } = $"http://127.0.0.1:{FreePort.Next()}";

    public ServiceProcess Origin { get; private set; } = null!;
    public ServiceProcess Mirror { get; private set; } = null!;
    public ServiceProcess Redirector { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            // xunit does not dispose a fixture whose start failed: stop the processes started so far.
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync()
    {
        Directory.CreateDirectory(WorkingDirectory);
        var root = _dir.Combine("origin-files");
        var path = Path.Combine(root, FilePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[300_000];
        new Random(7).NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);
        var (privateKey, publicKey) = ManifestSigner.GenerateKeyPair();
        PublicKey = publicKey;

        Origin = ServiceProcess.Start("Downloads.Origin.dll", WorkingDirectory, $"--urls={OriginUrl}", $"--Origin:Root={root}",
            $"--Origin:StateDir={_dir.Combine("origin-state")}", $"--Origin:PrivateKey={privateKey}", $"--Redis:Configuration={RedisConfiguration}");
        await UntilAsync(Origin, $"{OriginUrl}{ManifestDefaults.ManifestPath}", HttpStatusCode.OK);

        Redirector = StartRedirector();
        await UntilAsync(Redirector, $"{RedirectorUrl}/{FilePath}", HttpStatusCode.Found);

        Mirror = ServiceProcess.Start("Downloads.Mirror.dll", WorkingDirectory, $"--urls={MirrorUrl}", "--Mirror:Id=quiet",
            $"--Mirror:DataDir={Path.Combine(WorkingDirectory, "mirror-data")}", $"--Mirror:Upstream={OriginUrl}", $"--Mirror:PublicKey={publicKey}",
            $"--Mirror:HttpUrl={MirrorUrl}", $"--Redis:Configuration={RedisConfiguration}");
        await UntilAsync(Mirror, $"{MirrorUrl}/{FilePath}", HttpStatusCode.OK);

        // The services log their start (listening address, manifest loaded, sync done) once; then nothing.
        await Task.WhenAll(
            Origin.WaitForQuietAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)),
            Mirror.WaitForQuietAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)),
            Redirector.WaitForQuietAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)));
    }

    /// <summary>A redirector with the network's settings plus <paramref name="extra"/>, listening on <paramref name="url"/> (default: the network's).</summary>
    public ServiceProcess StartRedirector(string? url = null, params string[] extra) => StartRedirectorWith(null, url, extra);

    /// <summary><see cref="StartRedirector"/> with <c>JOURNAL_STREAM</c> set (<see cref="ServiceProcess.StartUnder"/>).</summary>
    public ServiceProcess StartRedirectorWith(string? journalStream, string? url, params string[] extra) =>
        ServiceProcess.StartUnder(journalStream, "Downloads.Redirector.dll", WorkingDirectory, [$"--urls={url ?? RedirectorUrl}",
            $"--Redis:Configuration={RedisConfiguration}", $"--Redirector:Origin={OriginUrl}", $"--Redirector:PublicKey={PublicKey}",
            $"--Health:AllowedNetworks={RedirectorArgs.ProbeAllowedNetworks}", .. extra]);

    /// <summary>Polls <paramref name="url"/> until it answers <paramref name="expected"/>; fails with the service's output otherwise.</summary>
    public async Task UntilAsync(ServiceProcess service, string url, HttpStatusCode expected)
    {
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    using var response = await Http.GetAsync(url);
                    return response.StatusCode == expected;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), $"{url} answers {(int)expected}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; service output:\n{service.Output}", e);
        }
    }

    /// <summary>Inode numbers of <paramref name="directory"/> and every directory under it (<c>stat</c>, as .NET has no inode API).</summary>
    public static async Task<HashSet<ulong>> DirectoryInodesAsync(string directory)
    {
        var psi = new ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("--format=%i");
        psi.ArgumentList.Add(directory);
        foreach (var sub in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories))
            psi.ArgumentList.Add(sub);
        using var stat = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = await stat.StandardOutput.ReadToEndAsync(cts.Token);
        await stat.WaitForExitAsync(cts.Token);
        Assert.Equal(0, stat.ExitCode);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => ulong.Parse(l, CultureInfo.InvariantCulture)).ToHashSet();
    }

    public async Task DisposeAsync()
    {
        foreach (var service in new[] { Mirror, Redirector, Origin })
        {
            if (service is not null)
                await service.DisposeAsync();
        }
        Http.Dispose();
        await _redis.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>One <see cref="QuietNetwork"/> for every class that needs the built services as processes.</summary>
[CollectionDefinition(QuietNetwork.Collection)]
public sealed class QuietNetworkGroup : ICollectionFixture<QuietNetwork>;
