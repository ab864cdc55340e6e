using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Ops;

/// <summary>
/// The dashboard's chart library is fetched by the build itself, with no Node.js: a clean copy of the build files runs
/// the fetch with only the .NET SDK on PATH (no npm), against a local registry serving the real tarball. A tarball that
/// does not match package-lock.json's integrity, or a registry out of reach, fails with one actionable line.
/// </summary>
public class ChartLibraryFetchTests
{
    private const string Tarball = "uplot-1.6.32.tgz";

    private static readonly string Root = RepositoryRoot();
    private static readonly string WebDir = Path.Combine(Root, "redirector", "Ops", "web");

    [Fact]
    public async Task A_clean_tree_fetches_and_embeds_the_library_without_npm()
    {
        using var registry = new TempDirectory("registry");
        Publish(registry, await File.ReadAllBytesAsync(CachedTarball()));
        await using var host = await StaticHost.StartAsync(registry.Path);
        using var tree = CleanCopy();

        var (exitCode, output) = await FetchAsync(tree, host.Url + "/", listItems: true);

        Assert.True(exitCode == 0, output);
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
        using var items = JsonDocument.Parse(json);
        var names = items.RootElement.GetProperty("Items").GetProperty("EmbeddedResource").EnumerateArray()
            .Select(i => i.GetProperty("LogicalName").GetString()).ToArray();
        Assert.Contains("ops/uPlot.iife.min.js", names);
        Assert.Contains("ops/uPlot.min.css", names);
        var fetched = Path.Combine(tree.Path, "redirector", "Ops", "web", "node_modules");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(WebDir, "node_modules", "uplot", "dist", "uPlot.iife.min.js")),
            await File.ReadAllBytesAsync(Path.Combine(fetched, "uplot", "dist", "uPlot.iife.min.js")));
        Assert.True(File.Exists(Path.Combine(fetched, ".fetched")));
        Assert.Equal(1, host.Requests);
    }

    [Fact]
    public async Task A_tarball_that_does_not_match_the_lock_file_is_refused_in_one_line()
    {
        using var registry = new TempDirectory("registry");
        var bytes = await File.ReadAllBytesAsync(CachedTarball());
        bytes[^1] ^= 1;
        Publish(registry, bytes);
        await using var host = await StaticHost.StartAsync(registry.Path);
        using var tree = CleanCopy();

        var (exitCode, output) = await FetchAsync(tree, host.Url + "/");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("does not match the integrity package-lock.json pins for uplot 1.6.32", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(tree.Path, "redirector", "Ops", "web", "node_modules", "uplot")));
    }

    [Fact]
    public async Task An_unreachable_registry_says_what_to_do()
    {
        using var tree = CleanCopy();
        var (exitCode, output) = await FetchAsync(tree, $"http://127.0.0.1:{FreePort.Next()}/");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Could not download uplot 1.6.32", output, StringComparison.Ordinal);
        Assert.Contains("-p:NpmRegistry=", output, StringComparison.Ordinal);
        Assert.Contains("Node.js is not needed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    /// <summary>The tarball the real build fetched (and verified) for this tree.</summary>
    private static string CachedTarball()
    {
        var path = Path.Combine(WebDir, "node_modules", ".tarballs", Tarball);
        Assert.True(File.Exists(path), $"{path} is missing: build the redirector first (dotnet build redirector), which fetches it");
        return path;
    }

    private static void Publish(TempDirectory registry, byte[] tarball)
    {
        Directory.CreateDirectory(registry.Combine("uplot", "-"));
        File.WriteAllBytes(registry.Combine("uplot", "-", Tarball), tarball);
    }

    /// <summary>The files a build of the redirector project reads, as committed: no node_modules, no bin or obj.</summary>
    private static TempDirectory CleanCopy()
    {
        var tree = new TempDirectory("clean-tree");
        string[] files =
        [
            "global.json", "Directory.Build.props", "Directory.Packages.props", "redirector/Downloads.Redirector.csproj",
            "redirector/Ops/web/package.json", "redirector/Ops/web/package-lock.json",
            "redirector/Ops/web/FetchNpmPackages.targets", "redirector/Ops/web/FetchNpmPackages.cs",
        ];
        foreach (var file in files)
        {
            var target = tree.Combine(file.Split('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(Root, file), target);
        }
        return tree;
    }

    /// <summary>Runs the build's fetch and embed targets in <paramref name="tree"/> with only the .NET SDK's folder on PATH.</summary>
    /// <remarks>With <paramref name="listItems"/>, MSBuild prints the embedded resources as JSON (and little else).</remarks>
    private static async Task<(int ExitCode, string Output)> FetchAsync(TempDirectory tree, string registry, bool listItems = false)
    {
        var dotnet = DotnetHost();
        var path = Path.GetDirectoryName(dotnet)!;
        Assert.False(File.Exists(Path.Combine(path, "npm")) || File.Exists(Path.Combine(path, "node")), $"{path} holds Node.js");
        var psi = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = tree.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "msbuild", "redirector/Downloads.Redirector.csproj", "-nologo", "-nodeReuse:false",
                     "-t:FetchOpsChartLibrary;EmbedOpsChartLibrary", $"-p:NpmRegistry={registry}" })
            psi.ArgumentList.Add(arg);
        if (listItems)
            psi.ArgumentList.Add("-getItem:EmbeddedResource");
        foreach (var key in psi.Environment.Keys.ToArray())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("npm_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("NUGET", StringComparison.OrdinalIgnoreCase))
                psi.Environment.Remove(key);
        }
        psi.Environment["PATH"] = path;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The dotnet host running these tests (ROOT/dotnet beside ROOT/shared/Microsoft.NETCore.App/VERSION/).</summary>
    private static string DotnetHost()
    {
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        return Path.Combine(root, "dotnet");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Downloads.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no Downloads.sln above {AppContext.BaseDirectory}");
    }
}
