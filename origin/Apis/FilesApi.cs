using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.Origin.Publishing;

namespace Downloads.Origin.Apis;

/// <summary>The origin's public surface: the signed manifest and the published files.</summary>
public static class FilesApi
{
    /// <summary>Maps <c>/-/manifest.json</c>, <c>/-/manifest.json.sig</c>, <c>/-/health</c> and <c>/{path}</c>.</summary>
    public static IEndpointRouteBuilder MapFiles(this IEndpointRouteBuilder app)
    {
        app.MapMethods(ManifestDefaults.ManifestPath, ["GET", "HEAD"], (PublishedStore store) =>
            store.Refresh() is { } s ? Results.Bytes(s.ManifestBytes, "application/json") : Unavailable());
        app.MapMethods(ManifestDefaults.SignaturePath, ["GET", "HEAD"], (PublishedStore store) =>
            store.Refresh() is { } s ? Results.Bytes(s.SignatureBytes, "text/plain") : Unavailable());
        app.MapGet(ServiceDefaults.HealthPath, (PublishedStore store) => Results.Text($"ok serial {store.Current?.Manifest.Serial ?? 0}\n"));
        app.MapMethods("/{**path}", ["GET", "HEAD"], ServeFile);
        return app;
    }

    private static IResult ServeFile(HttpContext context, PublishedStore store)
    {
        var path = context.Request.Path.Value is { Length: > 1 } p ? p[1..] : "";
        var state = store.Current;
        if (state is null || !state.Files.TryGetValue(path, out var entry))
        {
            // A file published by the CLI a moment ago: look at the pointer once before answering 404.
            state = store.Refresh();
            if (state is null || !state.Files.TryGetValue(path, out entry))
                return ManifestFileResults.NotFound($"'{path}' is not in the published manifest");
        }
        var physical = Path.Combine(store.Root, entry.Path);
        var info = new FileInfo(physical);
        // Never serve bytes that differ from what the manifest promises (the file was edited after publishing).
        if (!info.Exists || info.Length != entry.Size || info.LastWriteTimeUtc.Ticks != entry.Modified.UtcTicks)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Changed since publishing",
                detail: $"'{path}' changed on disk after serial {state.Manifest.Serial} was published; run `origin publish`");
        return ManifestFileResults.File(entry, physical);
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unavailable() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not published", detail: "nothing has been published yet");
}
