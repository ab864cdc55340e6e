using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Downloads.Testing;

/// <summary>
/// A real Redis high-availability group on loopback: one master, one replica and three
/// <c>redis-sentinel</c> processes (quorum 2) watching service <see cref="ServiceName"/>, each on a
/// free port under a temp directory, with short failure-detection times so a failover completes in
/// a few seconds. Everything is killed on dispose.
/// </summary>
public sealed class RedisSentinelGroup : IDisposable
{
    /// <summary>The monitored service name (StackExchange.Redis <c>serviceName=</c>).</summary>
    public const string ServiceName = "dl";

    private readonly TempDirectory _dir = new("sentinel");
    private readonly Dictionary<int, Process> _servers = [];
    private readonly List<Process> _sentinels = [];

    /// <summary>Starts the group and waits until the sentinels see the replica.</summary>
    public RedisSentinelGroup()
    {
        MasterPort = FreePort.Next();
        ReplicaPort = FreePort.Next();
        try
        {
            StartAll();
        }
        catch
        {
            Dispose(); // a group that failed to start is never handed to a using: kill what did start
            throw;
        }
    }

    private void StartAll()
    {
        Start(MasterPort, []);
        Start(ReplicaPort, ["--replicaof", "127.0.0.1", Port(MasterPort)]);
        for (var i = 0; i < 3; i++)
        {
            var port = FreePort.Next();
            SentinelPorts.Add(port);
            var conf = _dir.Combine($"sentinel-{port}.conf");
            File.WriteAllText(conf, string.Join('\n',
                $"port {port}", "bind 127.0.0.1", "protected-mode no", $"dir {_dir.Path}",
                $"sentinel monitor {ServiceName} 127.0.0.1 {MasterPort} 2",
                $"sentinel down-after-milliseconds {ServiceName} 1000",
                $"sentinel failover-timeout {ServiceName} 5000",
                $"sentinel parallel-syncs {ServiceName} 1", ""));
            _sentinels.Add(Launch(SentinelExe(), [conf], port));
        }
        WaitUntil(() => SentinelSeesReplica(), TimeSpan.FromSeconds(20), "sentinels discover the replica");
    }

    /// <summary>Port of the master at start.</summary>
    public int MasterPort { get; }

    /// <summary>Port of the replica at start (the master after a failover).</summary>
    public int ReplicaPort { get; }

    /// <summary>Ports of the three sentinels.</summary>
    public List<int> SentinelPorts { get; } = [];

    /// <summary>StackExchange.Redis configuration for services: the sentinels and the service name.</summary>
    public string Configuration =>
        string.Join(',', SentinelPorts.Select(p => $"127.0.0.1:{p}")) + $",serviceName={ServiceName},abortConnect=false";

    /// <summary>A direct connection to one server (not through the sentinels).</summary>
    public static ConnectionMultiplexer Direct(int port) => ConnectionMultiplexer.Connect($"127.0.0.1:{port},allowAdmin=true,abortConnect=false");

    /// <summary>Port of the master as the sentinels see it now; -1 when no sentinel answers in time (a busy box mid-failover).</summary>
    public int CurrentMasterPort()
    {
        foreach (var port in SentinelPorts)
        {
            try
            {
                using var sentinel = Sentinel(port);
                var endpoint = sentinel.GetServer($"127.0.0.1:{port}").SentinelGetMasterAddressByName(ServiceName);
                if (endpoint is System.Net.IPEndPoint ip)
                    return ip.Port;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
            }
        }
        return -1;
    }

    /// <summary>Kills the current master with SIGKILL (a crash, not a shutdown).</summary>
    public int KillMaster()
    {
        var port = CurrentMasterPort();
        if (_servers.TryGetValue(port, out var p) && !p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
        return port;
    }

    /// <summary>A connection to one sentinel (sentinel command map).</summary>
    private static ConnectionMultiplexer Sentinel(int port)
    {
        var options = new ConfigurationOptions { CommandMap = CommandMap.Sentinel, TieBreaker = "", ConnectTimeout = 3000, AbortOnConnectFail = true };
        options.EndPoints.Add("127.0.0.1", port);
        return ConnectionMultiplexer.Connect(options);
    }

    private bool SentinelSeesReplica()
    {
        try
        {
            using var sentinel = Sentinel(SentinelPorts[0]);
            var replicas = sentinel.GetServer($"127.0.0.1:{SentinelPorts[0]}").SentinelReplicas(ServiceName);
            return replicas.Length == 1 && replicas[0].Any(kv => kv.Key == "flags" && kv.Value == "slave");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return false;
        }
    }

    private void Start(int port, string[] extra)
    {
        string[] args = ["--port", Port(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", _dir.Path, "--protected-mode", "no", "--dbfilename", $"dump-{port}.rdb", .. extra];
        _servers[port] = Launch(File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server", args, port);
    }

    private static string SentinelExe() => File.Exists("/usr/bin/redis-sentinel") ? "/usr/bin/redis-sentinel" : "redis-sentinel";

    private Process Launch(string exe, string[] args, int port)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir.Path };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"{exe} did not start; run ./test.sh, which installs it");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            WaitForListen(exe, process, port);
        }
        catch
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
        return process;
    }

    private static void WaitForListen(string exe, Process process, int port) =>
        WaitUntil(() =>
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{exe} exited with {process.ExitCode}");
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                probe.Connect("127.0.0.1", port);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), $"{exe} listens on {port}");

    private static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out: {what}");
            Thread.Sleep(100);
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var p in _sentinels.Concat(_servers.Values))
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            p.Dispose();
        }
        _dir.Dispose();
    }
}
