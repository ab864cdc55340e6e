using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Sync;
using Downloads.Origin;
using Downloads.Origin.Publishing;
using Downloads.Origin.Sample;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Mirror.Tests.Sync;

/// <summary>
/// A real origin (in-process Kestrel on loopback) over a tiny sample tree published with 16 KiB
/// chunks, plus helpers to start mirrors against it or against any upstream URL.
/// </summary>
public sealed class SyncWorld : IAsyncDisposable
{
    public const int ChunkSize = 16 * 1024;
    public const string NoRedis = "127.0.0.1:1,connectTimeout=200";

    private readonly List<WebApplication> _apps = [];

    private SyncWorld(TempDirectory dir, string privateKey, string publicKey)
    {
        Dir = dir;
        PrivateKey = privateKey;
        PublicKey = publicKey;
    }

    public TempDirectory Dir { get; }
    public string PrivateKey { get; }
    public string PublicKey { get; }
    public string Root => Dir.Combine("origin-root");
    public string OriginUrl { get; private set; } = "";
    public WebApplication Origin { get; private set; } = null!;

    public OriginOptions OriginOptions => new()
    {
        Root = Root,
        StateDir = Dir.Combine("origin-state"),
        PrivateKey = PrivateKey,
        ChunkSize = ChunkSize,
    };

    /// <summary>Publishes the tiny sample tree and starts the origin; <paramref name="originExtra"/> are more --Key=Value arguments (later ones win).</summary>
    public static async Task<SyncWorld> StartAsync(params string[] originExtra)
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var world = new SyncWorld(new TempDirectory("sync"), priv, pub);
        await SampleTree.GenerateAsync(world.Root, SampleScale.Tiny);
        await world.PublishAsync();
        var port = FreePort.Next();
        world.OriginUrl = $"http://127.0.0.1:{port}";
        world.Origin = OriginApp.Build([$"--urls={world.OriginUrl}", $"--Origin:Root={world.Root}", $"--Origin:StateDir={world.OriginOptions.StateDir}",
            $"--Origin:PrivateKey={priv}", $"--Origin:ChunkSize={ChunkSize}", $"--Redis:Configuration={NoRedis}", .. originExtra]);
        await world.Origin.StartAsync();
        world._apps.Add(world.Origin);
        return world;
    }

    public Task<PublishResult> PublishAsync() => new Publisher(OriginOptions, TimeProvider.System, NullLogger.Instance).PublishAsync();

    public Manifest CurrentManifest()
    {
        var folder = new StateFolder(OriginOptions.StateDir);
        return folder.Load(folder.ReadCurrentSerial(), out _)!.Manifest;
    }

    public byte[] OriginBytes(string path) => File.ReadAllBytes(Path.Combine(Root, path));

    /// <summary>Starts a mirror; <paramref name="extra"/> are more --Key=Value arguments.</summary>
    public async Task<MirrorHandle> StartMirrorAsync(string id, string upstream, string dataDir, params string[] extra)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        string[] args = [$"--urls={url}", $"--Mirror:Id={id}", $"--Mirror:DataDir={dataDir}", $"--Mirror:Upstream={upstream}",
            $"--Mirror:PublicKey={PublicKey}", $"--Redis:Configuration={NoRedis}", "--Sync:PollInterval=00:00:00.200",
            "--Sync:RetryDelay=00:00:00.050", "--Logging:LogLevel:Default=Warning", .. extra];
        var app = MirrorApp.Build(args);
        await app.StartAsync();
        _apps.Add(app);
        return new MirrorHandle(app, url);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            try
            {
                await app.DisposeAsync();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        Dir.Dispose();
    }
}

public sealed class MirrorHandle(WebApplication app, string url)
{
    public WebApplication App { get; } = app;
    public string Url { get; } = url;
    public LiveTree Live => App.Services.GetRequiredService<LiveTree>();
    public SyncStatus Status => App.Services.GetRequiredService<SyncStatus>();

    public Task WaitForSerialAsync(long serial, int seconds = 30) =>
        Eventually.TrueAsync(() => Live.Current.Serial >= serial, TimeSpan.FromSeconds(seconds), $"mirror at {Url} live at serial {serial} (last error: {Status.LastError})");

    /// <summary>Stops abruptly: the host's stop token is already cancelled, as with a kill.</summary>
    public async Task KillAsync()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        try
        {
            await App.StopAsync(cancelled.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await App.DisposeAsync();
    }
}
