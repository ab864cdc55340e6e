using Downloads.Redirector.Apis;
using Downloads.Redirector.Membership;
using Microsoft.AspNetCore.Http.HttpResults;
using StackExchange.Redis;

namespace Downloads.Redirector.Ops;

/// <summary>
/// <c>/-/ops</c>: the dashboard page, its assets, <c>/-/ops/view</c> (polled JSON) and
/// <c>/-/ops/history/{id}</c>; plus <c>/-/api/stats</c> and <c>/-/api/mirrors/{id}/history</c> for the CLI
/// and scripts. All behind <see cref="AdminAuth"/>: the bearer token, or on the dashboard's pages (all GET) also the token as
/// the password of a browser's Basic login.
/// </summary>
internal static class OpsApi
{
    // The page loads only its own script and style files (no inline ones) and talks only to its own origin.
    private static readonly string Policy = PageHeaders.Policy("script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'");

    public static IEndpointRouteBuilder MapOps(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup("/-/ops").RequireAdmin(AdminAccess.Dashboard);
        ops.MapGet("", (HttpContext http) => Asset(http, OpsAssets.Page, "text/html; charset=utf-8"));
        ops.MapGet("/assets/{name}", (string name, HttpContext http) =>
            OpsAssets.TryGet(name, out var resource, out var type) ? Asset(http, resource, type) : Results.NotFound());
        ops.MapGet("/view", View);
        ops.MapGet("/history/{id}", HistoryAsync);

        var api = app.MapGroup("/-/api").RequireAdmin(AdminAccess.Api);
        api.MapGet("/stats", View);
        api.MapGet("/mirrors/{id}/history", HistoryAsync);
        return app;
    }

    private static Ok<OpsView> View(OpsSampler sampler, HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(sampler.Current);
    }

    private static async Task<Results<Ok<HistoryPoint[]>, ProblemHttpResult>> HistoryAsync(string id, string? res, MembershipService membership,
        IConnectionMultiplexer redis)
    {
        if (res is not (null or "minute" or "hour"))
            return TypedResults.Problem("res must be minute or hour", statusCode: StatusCodes.Status400BadRequest);
        if (await membership.FindAsync(id) is null)
            return TypedResults.Problem($"no mirror '{id}'", statusCode: StatusCodes.Status404NotFound);
        return TypedResults.Ok(await BandwidthHistory.ReadAsync(redis.GetDatabase(), id, res == "hour"));
    }

    private static IResult Asset(HttpContext http, string resource, string contentType)
    {
        var stream = OpsAssets.Open(resource);
        if (stream is null)
            return TypedResults.Problem($"dashboard file {resource} is missing from this build (the build runs npm ci in redirector/Ops/web)",
                statusCode: StatusCodes.Status500InternalServerError);
        PageHeaders.Apply(http.Response, Policy);
        http.Response.Headers.CacheControl = "no-cache";
        return Results.Stream(stream, contentType);
    }
}
