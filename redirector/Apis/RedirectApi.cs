using System.Text.Json.Serialization;
using Downloads.Contracts.Hosting;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Apis;

/// <summary>Maps <c>/-/health</c> and the catch-all <c>GET|HEAD /{path}</c> (lowest route precedence, so other <c>/-/</c> endpoints win).</summary>
internal static class RedirectApi
{
    private static readonly PathString ServicePrefix = "/-";

    /// <summary>
    /// Hands every <c>GET|HEAD</c> outside <c>/-/</c> straight to the <see cref="RedirectHandler"/>, before routing:
    /// the catch-all route would send it there anyway (no other endpoint lies outside <c>/-/</c>), and matching it
    /// costs a route-value dictionary and the captured path on every redirect (bench/README.md, "Allocated per
    /// redirect"). Everything else — <c>/-/</c> and other methods — goes on to routing as before.
    /// </summary>
    public static IApplicationBuilder UseRedirectsBeforeRouting(this IApplicationBuilder app)
    {
        var handler = app.ApplicationServices.GetRequiredService<RedirectHandler>();
        return app.Use((context, next) =>
        {
            var request = context.Request;
            return (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
                && !request.Path.StartsWithSegments(ServicePrefix, StringComparison.Ordinal)
                ? handler.HandleAsync(context)
                : next(context);
        });
    }

    public static IEndpointRouteBuilder MapRedirects(this IEndpointRouteBuilder app)
    {
        app.MapGet(ServiceDefaults.HealthPath, Health);
        app.MapChecksums();
        var handler = app.ServiceProvider.GetRequiredService<RedirectHandler>();
        app.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head], handler.HandleAsync);
        return app;
    }

    /// <summary>
    /// 200 once a verified manifest is loaded, else 503; always says what the redirector is running from. With a
    /// manifest, <c>degraded</c> and the reasons whenever any <see cref="Downloads.Redirector.Health.IDegradationSource"/> reports one (no
    /// mirror to send a client to, routing from saved state, an expired manifest): still 200, since a redirector that
    /// answers keeps its place behind the load balancer, but never a plain "ok".
    /// </summary>
    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<HealthView> Health(SnapshotHolder holder, TimeProvider time,
        IEnumerable<Downloads.Redirector.Health.IDegradationSource> sources)
    {
        var s = holder.Current;
        var now = time.GetUtcNow();
        var reasons = Downloads.Redirector.Health.Degradation.Reasons(sources);
        var view = new HealthView(
            !s.Index.IsLoaded ? "no manifest" : reasons.Length > 0 ? "degraded" : "ok",
            s.Index.Serial,
            s.Index.Files.Count,
            s.Mirrors.Length,
            s.Http.Count,
            s.Https.Count,
            s.MirrorsLoadedAt == DateTimeOffset.MinValue ? null : Math.Round((now - s.MirrorsLoadedAt).TotalSeconds, 1),
            s.ManifestLoadedAt == DateTimeOffset.MinValue ? null : Math.Round((now - s.ManifestLoadedAt).TotalSeconds, 1),
            GC.GetGCMemoryInfo().HeapSizeBytes / (1024 * 1024),
            Environment.WorkingSet / (1024 * 1024),
            s.HeartbeatPanic,
            reasons);
        return TypedResults.Json(view, HealthJson.Default.HealthView,
            statusCode: !s.Index.IsLoaded ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }
}

internal sealed record HealthView(string Status, long Serial, int Files, int Mirrors, int HttpCandidates, int HttpsCandidates,
    double? MirrorsAgeSeconds, double? ManifestAgeSeconds, long GcHeapMB, long WorkingSetMB, bool HeartbeatPanic, string[] Reasons);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HealthView))]
internal sealed partial class HealthJson : JsonSerializerContext;
