using Downloads.Contracts.Hosting;
using Downloads.Contracts.Staging;
using Downloads.Origin.Staging;

namespace Downloads.Origin.Apis;

/// <summary>
/// The signed staging list and the staged ciphertexts. Mapped before the catch-all file route. A request for an id
/// that is not staged gets the same 404 as any unknown path: nothing tells a staged name from a missing one. Ciphertext
/// goes through the admission and the pacer like any file (origin/Limits): the ids are public, so a public client
/// fetching it is held to the public's share and counted as public.
/// </summary>
public static class StagingApi
{
    /// <summary>Maps <c>/-/staging.json</c>, <c>/-/staging.json.sig</c> and <c>/-/staged/{id}</c>.</summary>
    public static IEndpointRouteBuilder MapStaging(this IEndpointRouteBuilder app)
    {
        app.MapMethods(StagingDefaults.ListPath, ["GET", "HEAD"], (StagingStore store) =>
            store.Refresh() is { } s ? Results.Bytes(s.Bytes, "application/json") : Unavailable());
        app.MapMethods(StagingDefaults.SignaturePath, ["GET", "HEAD"], (StagingStore store) =>
            store.Refresh() is { } s ? Results.Bytes(s.Signature, "text/plain") : Unavailable());
        app.MapMethods(StagingDefaults.CiphertextPrefix + "{id}", ["GET", "HEAD"], (string id, StagingStore store) =>
            store.CipherPath(id) is { } path
                ? ManifestFileResults.File(path, "application/octet-stream")
                : ManifestFileResults.NotFound("not a staged id"));
        return app;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unavailable() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not published", detail: "no staging list yet");
}
