using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;

namespace Downloads.Redirector.Tests.Health;

/// <summary>
/// A real Kestrel host playing a mirror: serves given files with Range support, and when
/// <see cref="Lie"/> is set, serves every file with one byte changed (same length, so HEAD still passes).
/// </summary>
internal sealed class FakeMirror : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _heads;
    private int _gets;

    public FakeMirror(IReadOnlyDictionary<string, byte[]> files)
    {
        Port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder([$"--urls=http://127.0.0.1:{Port}", "--Logging:LogLevel:Default=Warning"]);
        _app = builder.Build();
        _app.MapMethods("/{**path}", ["GET", "HEAD"], (string path, HttpContext context) =>
        {
            if (HttpMethods.IsHead(context.Request.Method))
                Interlocked.Increment(ref _heads);
            else
                Interlocked.Increment(ref _gets);
            if (!files.TryGetValue(path, out var bytes))
                return Results.NotFound();
            if (Lie)
            {
                bytes = (byte[])bytes.Clone();
                bytes[bytes.Length / 2] ^= 0x01;
            }
            return Results.Bytes(bytes, "application/octet-stream", enableRangeProcessing: true);
        });
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public volatile bool Lie;

    public int Heads => Volatile.Read(ref _heads);

    public int Gets => Volatile.Read(ref _gets);

    public Task StartAsync() => _app.StartAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
