using System.Diagnostics;

namespace Downloads.Testing;

/// <summary>
/// Prometheus' own checker, <c>promtool</c> (Debian's <c>prometheus</c> package, installed by test.sh), run as
/// a process: <c>check metrics</c> on an exposition, <c>check config</c>, <c>check rules</c>, <c>test rules</c>.
/// </summary>
public static class Promtool
{
    /// <summary>The repository's root folder (where <c>Downloads.sln</c> is), found above the test's output folder.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Downloads.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException($"no Downloads.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Runs <c>promtool ARGS</c> with <paramref name="stdin"/>; returns its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string? stdin, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("promtool")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("promtool did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("promtool not found: install Debian's prometheus package (test.sh does)", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
                await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, (await stdout) + (await stderr));
        }
    }
}
