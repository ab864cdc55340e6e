using System.Diagnostics;
using System.Globalization;

namespace Downloads.Testing;

/// <summary>
/// One real <c>redis-sentinel</c> on a free loopback port with the configuration lines a test gives (ACL
/// users, TLS, <c>sentinel monitor …</c>), killed on dispose.
/// </summary>
public sealed class SentinelProcess : IDisposable
{
    private readonly TempDirectory _dir = new("sentinel1");
    private readonly Process _process;

    /// <summary>
    /// Starts Sentinel with <paramref name="lines"/> after <c>port</c>/<c>bind</c>/<c>dir</c>; with
    /// <paramref name="tls"/> the port is a TLS port and the plaintext one is off (the lines bring the certificates).
    /// </summary>
    public SentinelProcess(bool tls, params string[] lines)
    {
        Port = FreePort.Next();
        var port = Port.ToString(CultureInfo.InvariantCulture);
        var conf = _dir.Combine("sentinel.conf");
        string[] head = tls ? ["port 0", $"tls-port {port}"] : [$"port {port}"];
        File.WriteAllLines(conf, [.. head, "bind 127.0.0.1", $"dir {_dir.Path}", .. lines]);
        var exe = File.Exists("/usr/bin/redis-sentinel") ? "/usr/bin/redis-sentinel" : "redis-sentinel";
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir.Path };
        psi.ArgumentList.Add(conf);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("redis-sentinel did not start; ./test.sh installs it");
        var log = new System.Text.StringBuilder();
        _process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                probe.Connect("127.0.0.1", Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    Dispose();
                    lock (log)
                        throw new InvalidOperationException($"redis-sentinel did not listen on {Port}: {log}");
                }
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>host:port.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        _dir.Dispose();
    }
}
