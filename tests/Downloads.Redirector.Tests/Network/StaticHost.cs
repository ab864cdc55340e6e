using Downloads.Contracts.Manifests;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace Downloads.Redirector.Tests.Network;

/// <summary>
/// A real Kestrel host over a real socket serving a directory (Range, ETag) and, when given, a signed
/// manifest at the standard paths: the stand-in origin and the stand-in mirrors of these tests.
/// </summary>
internal sealed class StaticHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Manifest bytes and signature served now; replace to publish a new serial.</summary>
    public (byte[] Manifest, string Signature)? Published { get; set; }

    public int Requests;

    /// <summary>When set, every file request is answered 503 (a mirror that fails under the client).</summary>
    public bool Refuse { get; set; }

    public static async Task<StaticHost> StartAsync(string root)
    {
        var port = FreePort.Next();
        var url = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var host = new StaticHost(app, url);
        app.Use((context, next) =>
        {
            Interlocked.Increment(ref host.Requests);
            if (host.Refuse && !context.Request.Path.StartsWithSegments("/-"))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            }
            return next(context);
        });
        app.MapGet(ManifestDefaults.ManifestPath, () => host.Published is { } p ? Results.Bytes(p.Manifest, "application/json") : Results.NotFound());
        app.MapGet(ManifestDefaults.SignaturePath, () => host.Published is { } p ? Results.Text(p.Signature) : Results.NotFound());
        app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(root), ServeUnknownFileTypes = true });
        await app.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
