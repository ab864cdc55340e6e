using System.Globalization;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Storage;
using Downloads.Mirror.Transport;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Downloads.Mirror.Serving;

/// <summary>
/// Serves files only from <see cref="LiveTree.Current"/>: the request path is looked up in the
/// snapshot's dictionary, never joined onto a folder, so nothing outside a verified serial (no
/// partial, no traversal) can be reached. The one addition: a file just released from staging, decrypted
/// and verified against the next serial's signed manifest, is served ahead of that serial
/// (<see cref="ReleaseWaits"/>). Also re-serves the signed manifest for tier-2 mirrors.
/// </summary>
public static class ServingExtensions
{
    /// <summary>Retry-After of a released file that is not ready yet, seconds.</summary>
    private static readonly string RetryAfterSeconds = 5.ToString(CultureInfo.InvariantCulture);

    /// <summary>Registers what serving needs.</summary>
    public static IServiceCollection AddServing(this IServiceCollection services)
    {
        services.AddProblemDetails();
        return services;
    }

    /// <summary>Maps <c>/-/manifest.json</c>, <c>/-/manifest.json.sig</c> and <c>/{path}</c> (GET and HEAD).</summary>
    public static IEndpointRouteBuilder MapServing(this IEndpointRouteBuilder app)
    {
        app.MapMethods(ManifestDefaults.ManifestPath, ["GET", "HEAD"], (LiveTree live) =>
            live.Current is { Manifest: not null } s ? Results.Bytes(s.ManifestBytes, "application/json") : NotSynced());
        app.MapMethods(ManifestDefaults.SignaturePath, ["GET", "HEAD"], (LiveTree live) =>
            live.Current is { Manifest: not null } s ? Results.Bytes(s.SignatureBytes, "text/plain") : NotSynced());
        app.MapMethods("/{**path}", ["GET", "HEAD"], ServeFile);
        return app;
    }

    private static async ValueTask<IResult> ServeFile(HttpContext context, LiveTree live, ReleaseWaits releases, TimeProvider time)
    {
        var path = context.Request.Path.Value is { Length: > 1 } p ? p[1..] : "";
        var snapshot = live.Current;
        if (!snapshot.Files.TryGetValue(path, out var file))
        {
            // A file released from staging that we are decrypting: wait for it (bounded), rather than answer 404.
            var wait = await releases.WaitAsync(path, context.RequestAborted);
            if (wait.File is { } ready)
                return Serve(context, ready);
            if (wait.Released)
                return NotReady(context);
            snapshot = live.Current;
            if (!snapshot.Files.TryGetValue(path, out file))
                return ManifestFileResults.NotFound(snapshot.Manifest is null ? "this mirror has not synced yet" : $"'{path}' is not in serial {snapshot.Serial} on this mirror");
        }
        if (file.RetiredUntil is { } until && until <= time.GetUtcNow())
            return ManifestFileResults.NotFound($"'{path}' was deleted upstream and its grace period has ended");
        if (!File.Exists(file.PhysicalPath))
        {
            // A new serial went live between the lookup and now and its clean-up removed this object:
            // answer from the new snapshot rather than fail.
            snapshot = live.Current;
            if (!snapshot.Files.TryGetValue(path, out file) || !File.Exists(file.PhysicalPath))
                return ManifestFileResults.NotFound($"'{path}' is not in serial {snapshot.Serial} on this mirror");
        }
        return Serve(context, file);
    }

    private static IResult Serve(HttpContext context, LiveFile file)
    {
        // sendfile(2) where the connection allows it; otherwise (TLS, HTTP/2) the cheaper copy through Kestrel's pipe.
        var sendfile = SendFileResponseBody.Use(context);
        return ManifestFileResults.File(file.Entry, file.PhysicalPath, copyThroughPipe: !sendfile);
    }

    /// <summary>A released file not decrypted in time (or that did not check out and is being downloaded): try again shortly.</summary>
    private static ProblemHttpResult NotReady(HttpContext context)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: "this file is being released on this mirror; try again shortly");
    }

    private static ProblemHttpResult NotSynced() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not synced", detail: "this mirror has not synced a manifest yet");
}
