using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Downloads.EndToEnd.Tests.Hosting;

/// <summary>
/// A built service run as its own process, the way run.sh and the Ansible roles start it
/// (<c>dotnet Downloads.X.dll --Key=value …</c>), from a chosen working directory and with a clean
/// environment: no <c>ASPNETCORE_*</c>, <c>DOTNET_*</c> or configuration (<c>Section__Key</c>, <c>Logging*</c>)
/// variables, so only the service's own defaults and the given arguments apply. Counts every byte it
/// writes to standard output and error. Killed on dispose.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _text = new();
    private readonly Task[] _readers;
    private long _bytes;

    private ServiceProcess(Process process)
    {
        _process = process;
        _readers = [Pump(process.StandardOutput.BaseStream), Pump(process.StandardError.BaseStream)];
    }

    /// <summary>Process id.</summary>
    public int Id => _process.Id;

    /// <summary>Bytes written to standard output and standard error so far.</summary>
    public long OutputBytes => Interlocked.Read(ref _bytes);

    /// <summary>Everything written so far (both streams), for assertion messages.</summary>
    public string Output
    {
        get
        {
            lock (_text)
                return _text.ToString();
        }
    }

    /// <summary>Starts <paramref name="assembly"/> (a file name in this test's output folder, where the build copies the services).</summary>
    public static ServiceProcess Start(string assembly, string workingDirectory, params string[] args) =>
        StartUnder(null, assembly, workingDirectory, args);

    /// <summary>
    /// Starts <paramref name="assembly"/> as <see cref="Start(string, string, string[])"/> does, through
    /// <c>/bin/sh</c> when <paramref name="journalStream"/> is given: the shell sets <c>JOURNAL_STREAM</c> to it,
    /// or, for <c>"stdout"</c>, to the device and inode of the service's own standard output, as systemd does
    /// for a service whose output goes to the journal.
    /// </summary>
    public static ServiceProcess StartUnder(string? journalStream, string assembly, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(journalStream is null ? DotnetHost() : "/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (journalStream is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(journalStream == "stdout"
                ? "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1); exec \"$@\""
                : $"export JOURNAL_STREAM='{journalStream}'; exec \"$@\"");
            psi.ArgumentList.Add("sh");
            psi.ArgumentList.Add(DotnetHost());
        }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        foreach (var key in psi.Environment.Keys.ToArray())
        {
            if (key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("COMPlus_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Logging", StringComparison.OrdinalIgnoreCase)
                || key.Contains("__", StringComparison.Ordinal) || key == "JOURNAL_STREAM")
                psi.Environment.Remove(key);
        }
        return new ServiceProcess(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {assembly}"));
    }

    /// <summary>
    /// Starts <paramref name="assembly"/> as <see cref="Start"/> does, with <paramref name="environment"/> added
    /// (e.g. <c>SSL_CERT_FILE</c>: the machine's trusted CAs as OpenSSL reads them).
    /// </summary>
    public static ServiceProcess StartWithEnvironment(string assembly, string workingDirectory, IEnumerable<KeyValuePair<string, string>> environment, params string[] args) =>
        StartExecutable(DotnetHost(), workingDirectory, environment, [Path.Combine(AppContext.BaseDirectory, assembly), .. args]);

    /// <summary>
    /// Starts an installed executable as its systemd unit would: <paramref name="environment"/> (the unit's
    /// EnvironmentFile) on top of the same clean environment as <see cref="Start"/>.
    /// </summary>
    public static ServiceProcess StartExecutable(string path, string workingDirectory, IEnumerable<KeyValuePair<string, string>> environment, params string[] args)
    {
        var psi = new ProcessStartInfo(path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        foreach (var key in psi.Environment.Keys.ToArray())
        {
            if (key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("COMPlus_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Logging", StringComparison.OrdinalIgnoreCase)
                || key.Contains("__", StringComparison.Ordinal))
                psi.Environment.Remove(key);
        }
        foreach (var (key, value) in environment)
            psi.Environment[key] = value;
        return new ServiceProcess(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {path}"));
    }

    /// <summary>Whether the process has ended (its exit code is then in <see cref="ExitCode"/>).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Exit code once ended.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Waits until nothing has been written for <paramref name="quiet"/> (start-up lines settled), at most <paramref name="limit"/>.</summary>
    public async Task WaitForQuietAsync(TimeSpan quiet, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        var last = OutputBytes;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            var now = OutputBytes;
            if (now != last)
            {
                last = now;
                since = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - since >= quiet)
            {
                return;
            }
        }
        throw new TimeoutException($"still writing after {limit.TotalSeconds:0} s:\n{Output}");
    }

    /// <summary>
    /// Inode numbers of the directories this process holds an inotify watch on (Linux:
    /// <c>/proc/PID/fdinfo</c> lists one <c>inotify wd:… ino:HEX …</c> line per watch).
    /// </summary>
    public IReadOnlyList<ulong> InotifyWatchedInodes()
    {
        var inodes = new List<ulong>();
        foreach (var file in Directory.EnumerateFiles($"/proc/{Id}/fdinfo"))
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (IOException)
            {
                continue; // the descriptor was closed meanwhile
            }
            foreach (var line in lines)
            {
                if (!line.StartsWith("inotify wd:", StringComparison.Ordinal))
                    continue;
                var field = line.Split(' ').Single(f => f.StartsWith("ino:", StringComparison.Ordinal));
                inodes.Add(ulong.Parse(field.AsSpan(4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        return inodes;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_readers).WaitAsync(cts.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or IOException)
        {
            // Already gone, or its pipes did not close in time: nothing more to collect.
        }
        _process.Dispose();
    }

    private async Task Pump(Stream stream)
    {
        var decoder = Encoding.UTF8.GetDecoder();
        var buffer = new byte[8192];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            Interlocked.Add(ref _bytes, read);
            var count = decoder.GetChars(buffer, 0, read, chars, 0);
            lock (_text)
                _text.Append(chars, 0, count);
        }
    }

    /// <summary>The <c>dotnet</c> host that runs this test: the shared runtime lives at ROOT/shared/Microsoft.NETCore.App/VERSION/.</summary>
    private static string DotnetHost()
    {
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, "dotnet");
        return File.Exists(host) ? host : "dotnet";
    }
}
