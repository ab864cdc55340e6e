using System.ComponentModel;
using System.Diagnostics;

namespace Downloads.Testing;

/// <summary>Runs a real command-line tool (sha256sum, minisign, …) the way a user would, bounded in time.</summary>
public static class ExternalTool
{
    /// <summary>
    /// Runs <paramref name="exe"/> in <paramref name="workingDirectory"/>; returns its exit code and both streams.
    /// A tool that is not installed fails the test with the package that brings it (./test.sh installs them).
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string exe, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"{exe} is not installed ({ex.Message}); ./test.sh installs the Debian packages the tests use", ex);
        }
        using (process)
        {
            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = process.StandardError.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
