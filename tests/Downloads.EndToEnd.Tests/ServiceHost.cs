using Microsoft.AspNetCore.Builder;

namespace Downloads.EndToEnd.Tests;

/// <summary>One service of the network running in-process on its own loopback port.</summary>
public sealed class ServiceHost : IAsyncDisposable
{
    private readonly Func<string[], WebApplication> _build;
    private readonly string[] _args;
    private WebApplication? _app;

    public ServiceHost(string name, int port, Func<string[], WebApplication> build, params string[] args)
    {
        Name = name;
        Port = port;
        _build = build;
        _args = [$"--urls=http://127.0.0.1:{port}", .. args];
    }

    public string Name { get; }
    public int Port { get; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public bool IsRunning => _app is not null;
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException($"{Name} is not running");

    public async Task StartAsync()
    {
        _app = _build(_args);
        await _app.StartAsync();
    }

    /// <summary>Stops the service the way a crash would look from outside: the socket closes, nothing more is reported.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
            return;
        var app = _app;
        _app = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await app.StopAsync(cts.Token);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
