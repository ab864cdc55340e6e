using Downloads.Contracts.Hosting;
using Downloads.Contracts.Staging;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Downloads.Mirror.Staging;

/// <summary>
/// Re-serves the upstream's signed staging list and the ciphertexts this mirror holds, so tier-2 mirrors stage from a
/// tier-1 mirror as they sync from it. Only opaque ids and ciphertext: a staged file's name or bytes never are here.
/// </summary>
public static class StagingApi
{
    /// <summary>Maps <c>/-/staging.json</c>, <c>.sig</c> and <c>/-/staged/{id}</c> (before the file route).</summary>
    public static IEndpointRouteBuilder MapStaging(this IEndpointRouteBuilder app)
    {
        app.MapMethods(StagingDefaults.ListPath, ["GET", "HEAD"], (StagedCiphertexts staged) =>
            staged.Served is { } s ? Results.Bytes(s.Bytes, "application/json") : NoList());
        app.MapMethods(StagingDefaults.SignaturePath, ["GET", "HEAD"], (StagedCiphertexts staged) =>
            staged.Served is { } s ? Results.Bytes(s.Signature, "text/plain") : NoList());
        app.MapMethods(StagingDefaults.CiphertextPrefix + "{id}", ["GET", "HEAD"], (string id, StagedCiphertexts staged) =>
            staged.ServablePath(id) is { } path
                ? TypedResults.PhysicalFile(path, "application/octet-stream", enableRangeProcessing: true)
                : ManifestFileResults.NotFound("not a staged id held here"));
        return app;
    }

    private static ProblemHttpResult NoList() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "No staging list", detail: "this mirror has no verified staging list yet");
}
