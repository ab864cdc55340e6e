using System.Text.Json.Serialization;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Membership;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Downloads.Redirector.Apis;

/// <summary>
/// Ops' API under <c>/-/api</c>, behind <see cref="AdminAuth"/> (<c>Authorization: Bearer {Admin:Token}</c>, the admin
/// listener when there is one, no cross-site state changes), and the mirrors' enrollment endpoint, authenticated by its
/// one-time token instead and served on every listener.
/// </summary>
public static class AdminApi
{
    /// <summary>Body of <c>POST /-/api/tokens</c>.</summary>
    /// <param name="LifetimeHours">Validity; the configured default when absent.</param>
    public sealed record TokenRequest(double? LifetimeHours);

    /// <summary>Answer of <c>POST /-/api/tokens</c>.</summary>
    public sealed record TokenResponse(string Token, DateTimeOffset Expires);

    /// <summary>Body of <c>POST /-/api/mirrors/{id}/capacity</c>.</summary>
    public sealed record CapacityRequest(double Mbps);

    /// <summary>Body of <c>POST /-/api/mirrors/{id}/weight</c>.</summary>
    public sealed record WeightRequest(double Weight);

    /// <summary>Body of <c>POST /-/api/mirrors/{id}/quota</c>: quota per billing period, decimal GB (10^9 bytes), 0 for none.</summary>
    public sealed record QuotaRequest(double Gb);

    /// <summary>Body of <c>POST /-/api/mirrors/{id}/billing-day</c>: day of the month (1–28) the billing period starts.</summary>
    public sealed record BillingDayRequest(double Day);

    /// <summary>Body of <c>POST /-/api/mirrors/{id}/burst</c>: burst allowance, percent of the quota (0–100).</summary>
    public sealed record BurstRequest(double Percent);

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/-/api/enroll", EnrollAsync);

        var admin = app.MapGroup("/-/api").RequireAdmin(AdminAccess.Api);
        admin.MapPost("/tokens", IssueTokenAsync);
        admin.MapGet("/mirrors", async (MembershipService m) => TypedResults.Ok(await m.ListAsync()));
        admin.MapGet("/mirrors/{id}", GetAsync);
        admin.MapPost("/mirrors/{id}/approve", (string id, MembershipService m) => Answer(m.ApproveAsync(id)));
        admin.MapPost("/mirrors/{id}/enable", (string id, MembershipService m) => Answer(m.SetEnabledAsync(id, true)));
        admin.MapPost("/mirrors/{id}/disable", (string id, MembershipService m) => Answer(m.SetEnabledAsync(id, false)));
        admin.MapPost("/mirrors/{id}/drain", (string id, MembershipService m) => Answer(m.SetDrainingAsync(id, true)));
        admin.MapPost("/mirrors/{id}/undrain", (string id, MembershipService m) => Answer(m.SetDrainingAsync(id, false)));
        admin.MapPost("/mirrors/{id}/capacity", (string id, CapacityRequest body, MembershipService m) => body.Mbps is > 0 and < 10_000_000
            ? Answer(m.SetCapacityAsync(id, body.Mbps))
            : Task.FromResult<Results<Ok<MirrorRecord>, ProblemHttpResult>>(Problem(MembershipError.InvalidInfo, "mbps must be a positive number")));
        admin.MapPost("/mirrors/{id}/weight", (string id, WeightRequest body, MembershipService m) => body.Weight is >= 0 and <= 1_000_000
            ? Answer(m.SetWeightAsync(id, body.Weight))
            : Task.FromResult<Results<Ok<MirrorRecord>, ProblemHttpResult>>(Problem(MembershipError.InvalidInfo, "weight must be between 0 and 1000000")));
        // Up to 10^9 GB (an exabyte): a whole number of bytes that fits a long with room to spare.
        admin.MapPost("/mirrors/{id}/quota", (string id, QuotaRequest body, MembershipService m) => body.Gb is >= 0 and <= 1e9
            ? Answer(m.SetQuotaAsync(id, (long)Math.Round(body.Gb * 1e9)))
            : Task.FromResult<Results<Ok<MirrorRecord>, ProblemHttpResult>>(Problem(MembershipError.InvalidInfo, "gb must be between 0 (no quota) and 1000000000")));
        admin.MapPost("/mirrors/{id}/billing-day", (string id, BillingDayRequest body, MembershipService m) =>
            body.Day == Math.Floor(body.Day) && body.Day is >= QuotaPeriod.MinBillingDay and <= QuotaPeriod.MaxBillingDay
            ? Answer(m.SetBillingDayAsync(id, (int)body.Day))
            : Task.FromResult<Results<Ok<MirrorRecord>, ProblemHttpResult>>(Problem(MembershipError.InvalidInfo, "day must be a whole day of the month, 1-28")));
        admin.MapPost("/mirrors/{id}/burst", (string id, BurstRequest body, MembershipService m) => body.Percent is >= 0 and <= 100
            ? Answer(m.SetBurstAsync(id, body.Percent))
            : Task.FromResult<Results<Ok<MirrorRecord>, ProblemHttpResult>>(Problem(MembershipError.InvalidInfo, "percent must be between 0 and 100")));
        admin.MapGet("/mirrors/{id}/health", async (string id, MembershipService m) => TypedResults.Ok(await m.HealthAsync(id)));
        admin.MapDelete("/mirrors/{id}", RemoveAsync);
        admin.MapGet("/staging", StagingAsync);
        return app;
    }

    // Per staged id and region: the share of mirrors and capacity holding it, go/no-go against ?expected=EU:40,NA:20 (Gbit/s).
    private static async Task<Results<Ok<IReadOnlyList<Staging.StagedCoverage>>, ProblemHttpResult>> StagingAsync(
        string? expected, StackExchange.Redis.IConnectionMultiplexer redis, Snapshots.SnapshotHolder snapshots)
    {
        if (Staging.StagingCoverage.ParseExpected(expected, out var error) is not { } figures)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad expected surge", detail: error);
        return TypedResults.Ok(await Staging.StagingCoverage.ReadAsync(redis.GetDatabase(), snapshots.Current.Mirrors.Select(m => m.Record), figures));
    }

    /// <summary>Adds <see cref="AdminOptions"/>.</summary>
    public static IServiceCollection AddAdminApi(this IServiceCollection services)
    {
        services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.Section);
        // Unknown coordinates are NaN in mirror records; write them as "NaN" rather than failing the answer.
        // Enums as names ("Pending"), which is what ops read.
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.NumberHandling |= JsonNumberHandling.AllowNamedFloatingPointLiterals;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
        });
        return services;
    }

    private static async Task<Ok<TokenResponse>> IssueTokenAsync(TokenRequest? body, MembershipService membership)
    {
        var lifetime = body?.LifetimeHours is > 0 and var h ? TimeSpan.FromHours(h) : (TimeSpan?)null;
        var (token, expires) = await membership.IssueTokenAsync(lifetime);
        return TypedResults.Ok(new TokenResponse(token, expires));
    }

    private static async Task<Results<Ok<EnrollResponse>, ProblemHttpResult>> EnrollAsync(EnrollRequest request, HttpContext http, MembershipService membership,
        Clients.ClientAddressResolver clients)
    {
        // The mirror's own address (X-Forwarded-For from a trusted proxy), not the load balancer's: it places a
        // mirror that states no location.
        var result = await membership.EnrollAsync(request, clients.Resolve(http));
        return result.Ok ? TypedResults.Ok(result.Value) : Problem(result.Error, result.Reason);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(string id, MembershipService membership)
    {
        var result = await membership.RemoveAsync(id);
        return result.Ok ? TypedResults.NoContent() : Problem(result.Error, result.Reason);
    }

    private static async Task<Results<Ok<MirrorRecord>, ProblemHttpResult>> GetAsync(string id, MembershipService membership) =>
        await membership.FindAsync(id) is { } found ? TypedResults.Ok(found) : Problem(MembershipError.NotFound, $"no mirror '{id}'");

    private static async Task<Results<Ok<MirrorRecord>, ProblemHttpResult>> Answer(Task<MembershipResult<MirrorRecord>> operation)
    {
        var result = await operation;
        return result.Ok ? TypedResults.Ok(result.Value!) : Problem(result.Error, result.Reason);
    }

    private static ProblemHttpResult Problem(MembershipError error, string reason) => TypedResults.Problem(reason, statusCode: error switch
    {
        MembershipError.InvalidToken => StatusCodes.Status403Forbidden,
        MembershipError.IdTaken => StatusCodes.Status409Conflict,
        MembershipError.NotFound => StatusCodes.Status404NotFound,
        MembershipError.NeedsOpsPath => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    });
}
