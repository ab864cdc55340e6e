using System.Collections.Concurrent;
using System.Diagnostics;
using StackExchange.Redis;

namespace Downloads.Testing;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, without persistence, killed on dispose.
/// Use as an xunit class or collection fixture. <c>./test.sh</c> installs redis-server.
/// A server that is never disposed (a fixture whose <c>InitializeAsync</c> threw before it could hand
/// the server to its <c>DisposeAsync</c>, or one that threw in there) is killed when the test process exits.
/// </summary>
public sealed class RedisServer : IAsyncDisposable, IDisposable
{
    private static readonly ConcurrentDictionary<RedisServer, byte> Undisposed = new();

    static RedisServer() => AppDomain.CurrentDomain.ProcessExit += (_, _) => KillLeftovers(_ => true);

    private readonly TempDirectory _dir = new("redis");
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    private readonly string[] _extraArgs;
    private readonly bool _tls;

    /// <summary>Starts a server with the default arguments (xunit fixtures need this constructor).</summary>
    public RedisServer()
        : this([])
    {
    }

    private RedisServer(string[] extraArgs, bool tls = false)
    {
        _extraArgs = extraArgs;
        _tls = tls;
        Port = FreePort.Next();
        Undisposed[this] = 0;
        try
        {
            Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Kills and cleans up the servers chosen by <paramref name="which"/> among those not disposed yet;
    /// returns how many were still running. Runs for all of them when the process exits.
    /// </summary>
    public static int KillLeftovers(Func<RedisServer, bool> which)
    {
        var running = 0;
        foreach (var server in Undisposed.Keys.Where(which).ToList())
        {
            try
            {
                if (server.IsRunning)
                    running++;
                server.Dispose();
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
            {
                // Best effort at exit: one stubborn server must not keep the others alive.
            }
        }
        return running;
    }

    /// <summary>Starts a server with <paramref name="extraArgs"/> added to its command line (e.g. <c>--replicaof</c>).</summary>
    public static RedisServer WithArgs(params string[] extraArgs) => new(extraArgs);

    /// <summary>
    /// Starts a server that speaks only TLS on <see cref="Port"/> (plaintext port off) with this certificate and
    /// key; clients authenticate with passwords, not certificates. <see cref="Admin"/> does not work on it.
    /// </summary>
    public static RedisServer WithTls(string certificate, string key, string caCertificate, params string[] extraArgs) =>
        new(["--tls-cert-file", certificate, "--tls-key-file", key, "--tls-ca-cert-file", caCertificate, "--tls-auth-clients", "no", .. extraArgs], tls: true);

    /// <summary>The scratch folder the server runs in (its working directory).</summary>
    public string Directory => _dir.Path;

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>host:port.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>A configuration string for services (no user).</summary>
    public string Configuration => $"{Endpoint},abortConnect=false";

    /// <summary>An admin connection (default user), opened on first use.</summary>
    public ConnectionMultiplexer Admin => _admin ??= ConnectionMultiplexer.Connect($"{Endpoint},allowAdmin=true");

    /// <summary>Whether the server process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts the server (again) on the same port.</summary>
    public void Start()
    {
        if (IsRunning)
            return;
        var exe = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir.Path,
        };
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var a in _tls ? ["--port", "0", "--tls-port", port] : new[] { "--port", port })
            psi.ArgumentList.Add(a);
        foreach (var a in new[] { "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", _dir.Path, "--daemonize", "no", "--protected-mode", "no" })
            psi.ArgumentList.Add(a);
        foreach (var a in _extraArgs)
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start; run ./test.sh, which installs it");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                probe.Connect("127.0.0.1", Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}");
                Thread.Sleep(50);
            }
        }
        Stop();
        throw new TimeoutException($"redis-server did not listen on {Port} within 10 s");
    }

    /// <summary>Kills the server (simulates a crash or outage).</summary>
    public void Stop()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
    }

    /// <summary>Freezes the server with SIGSTOP (it keeps its connections but answers nothing, e.g. a replica that stops acknowledging).</summary>
    public void Suspend() => Signal("STOP");

    /// <summary>Thaws a server frozen by <see cref="Suspend"/> (SIGCONT).</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        if (_process is not { HasExited: false } p)
            throw new InvalidOperationException("redis-server is not running");
        using var kill = Process.Start("kill", ["-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -{signal} {p.Id} failed with {kill.ExitCode}");
    }

    /// <summary>Deletes every key.</summary>
    public async Task FlushAsync() => await Admin.GetServer(Endpoint).FlushAllDatabasesAsync();

    /// <inheritdoc />
    public void Dispose()
    {
        Undisposed.TryRemove(this, out _);
        _admin?.Dispose();
        Stop();
        _process?.Dispose();
        _process = null;
        _dir.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
