using System.Diagnostics;

namespace Downloads.EndToEnd.Tests.Release;

/// <summary>Runs a program to its end (bounded) and returns its exit code and output.</summary>
internal static class Command
{
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string file, string workingDirectory, TimeSpan limit,
        IEnumerable<string> args, IEnumerable<KeyValuePair<string, string>>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? [])
            psi.Environment[key] = value;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {limit.TotalSeconds:0} s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs and requires exit code 0.</summary>
    public static async Task<string> RunOkAsync(string file, string workingDirectory, TimeSpan limit, params string[] args)
    {
        var (exit, output, error) = await RunAsync(file, workingDirectory, limit, args);
        Assert.True(exit == 0, $"{file} {string.Join(' ', args)} exited {exit}:\n{output}\n{error}");
        return output;
    }
}
