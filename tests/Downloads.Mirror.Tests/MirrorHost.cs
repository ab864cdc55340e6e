using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Downloads.Testing;

namespace Downloads.Mirror.Tests;

/// <summary>A mirror app on a free loopback port with a scratch data folder, for tests.</summary>
internal sealed class MirrorHost : IAsyncDisposable
{
    private readonly TempDirectory _data = new("mirror");

    public MirrorHost(string id, string redisConfiguration, params string[] extra)
        : this(id, redisConfiguration, null, extra)
    {
    }

    /// <summary>As above; <paramref name="configure"/> may add or replace services (<see cref="MirrorApp.Build(string[], Action{IServiceCollection}?)"/>).</summary>
    public MirrorHost(string id, string redisConfiguration, Action<IServiceCollection>? configure, params string[] extra)
    {
        Id = id;
        Port = FreePort.Next();
        Args =
        [
            $"--urls=http://127.0.0.1:{Port}", $"--Mirror:Id={id}", $"--Mirror:DataDir={_data.Path}",
            "--Mirror:Upstream=http://127.0.0.1:9", "--Mirror:PublicKey=unused-in-these-tests",
            $"--Mirror:HttpUrl=http://127.0.0.1:{Port}", "--Mirror:Sets=noobs,os", "--Mirror:CapacityMbps=250", "--Mirror:QuotaTB=2",
            "--Mirror:Latitude=51.5", "--Mirror:Longitude=-0.12", "--Mirror:Country=gb", "--Mirror:Continent=EU", "--Mirror:Asn=64500",
            $"--Redis:Configuration={redisConfiguration}", "--Reporting:Interval=00:00:00.200", "--Logging:LogLevel:Default=Warning",
            .. extra,
        ];
        App = MirrorApp.Build(Args, configure);
    }

    public string Id { get; }

    public int Port { get; }

    public string[] Args { get; }

    public string DataDir => _data.Path;

    public WebApplication App { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}");

    /// <summary>Opens <paramref name="count"/> idle connections and waits until the mirror counts them: a mirror limited to that many is full.</summary>
    public async Task<System.Net.Sockets.TcpClient[]> HoldConnectionsAsync(int count)
    {
        var counters = App.Services.GetRequiredService<Downloads.Mirror.Reporting.TrafficCounters>();
        var clients = new System.Net.Sockets.TcpClient[count];
        for (var i = 0; i < count; i++)
        {
            clients[i] = new System.Net.Sockets.TcpClient();
            await clients[i].ConnectAsync(System.Net.IPAddress.Loopback, Port);
        }
        await Eventually.TrueAsync(() => counters.OpenConnections == count, TimeSpan.FromSeconds(10), $"{count} open connections");
        return clients;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        _data.Dispose();
    }
}
