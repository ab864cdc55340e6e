using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Membership;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Membership;

/// <summary>Helpers shared by membership tests.</summary>
internal static class Members
{
    public static MembershipService Service(RedisServer redis) =>
        new(redis.Admin, Options.Create(new MembershipOptions()), TimeProvider.System, NullLogger<MembershipService>.Instance);

    public static EnrollRequest Request(string id, string token) => new()
    {
        Id = id,
        Token = token,
        Info = new() { ["httpUrl"] = $"http://{id}.example.org", ["sets"] = "noobs", ["capacityMbps"] = "100", ["quotaBytes"] = "5000000000000" },
    };

    public static async Task<EnrollResponse> EnrollAsync(MembershipService service, string id)
    {
        var (token, _) = await service.IssueTokenAsync();
        var result = await service.EnrollAsync(Request(id, token));
        Assert.True(result.Ok, result.Reason);
        return result.Value!;
    }
}
