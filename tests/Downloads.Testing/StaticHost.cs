using Downloads.Contracts.Manifests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace Downloads.Testing;

/// <summary>
/// A real Kestrel host over a real loopback socket: the stand-in origin (a signed manifest at the standard
/// paths, see <see cref="Publish"/>) and the stand-in mirrors (a directory's files with Range and ETag) of the
/// redirector's tests and the launch-day simulator.
/// </summary>
public sealed class StaticHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;
    private int _manifestRequests;

    private StaticHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Base URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public string Url { get; }

    /// <summary>Manifest bytes and signature served now (404 while null); replace to publish a new serial.</summary>
    public (byte[] Manifest, string Signature)? Published { get; set; }

    /// <summary>Requests answered so far, of any kind.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests for the manifest so far: how a test sees that a reader has fetched what is published now.</summary>
    public int ManifestRequests => Volatile.Read(ref _manifestRequests);

    /// <summary>When set, every file request is answered 503 (a mirror that fails under the client).</summary>
    public bool Refuse { get; set; }

    /// <summary>Starts a host serving <paramref name="root"/>'s files, or only the manifest when null.</summary>
    public static async Task<StaticHost> StartAsync(string? root = null)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var host = new StaticHost(app, url);
        app.Use((context, next) =>
        {
            Interlocked.Increment(ref host._requests);
            if (host.Refuse && !context.Request.Path.StartsWithSegments("/-"))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            }
            return next(context);
        });
        app.MapGet(ManifestDefaults.ManifestPath, () =>
        {
            Interlocked.Increment(ref host._manifestRequests);
            return host.Published is { } p ? Results.Bytes(p.Manifest, "application/json") : Results.NotFound();
        });
        app.MapGet(ManifestDefaults.SignaturePath, () => host.Published is { } p ? Results.Text(p.Signature) : Results.NotFound());
        if (root is not null)
            app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(root), ServeUnknownFileTypes = true });
        await app.StartAsync();
        return host;
    }

    /// <summary>Serves <paramref name="manifest"/> from now on, signed with <paramref name="privateKey"/>.</summary>
    public void Publish(Manifest manifest, string privateKey) => Publish(ManifestCodec.Serialize(manifest), privateKey);

    /// <summary>Serves <paramref name="manifestBytes"/> (valid or not) from now on, signed with <paramref name="privateKey"/>.</summary>
    public void Publish(byte[] manifestBytes, string privateKey) => Published = (manifestBytes, ManifestSigner.Sign(manifestBytes, privateKey));

    /// <summary>
    /// Waits until the manifest has been fetched <paramref name="count"/> more times from now: every reader
    /// polling it has then seen what is published at least once.
    /// </summary>
    public Task FetchedAgainAsync(int count, TimeSpan timeout, string what)
    {
        var target = ManifestRequests + count;
        return Eventually.TrueAsync(() => ManifestRequests >= target, timeout, what);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
