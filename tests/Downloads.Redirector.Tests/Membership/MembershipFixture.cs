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

    /// <summary>An enrollment request as a mirror makes it: its public key and the hash of the password it chose.</summary>
    public static EnrollRequest Request(string id, string token, string? password = null) => new()
    {
        Id = id,
        Token = token,
        Info = new() { ["httpUrl"] = $"http://{id}.example.org", ["sets"] = "noobs", ["capacityMbps"] = "100", ["quotaBytes"] = "5000000000000" },
        PublicKey = MirrorIdentity.NewKeyPair().PublicKey,
        PasswordSha256 = MirrorIdentity.PasswordSha256(password ?? MirrorIdentity.NewPassword()),
    };

    /// <summary>Enrolls <paramref name="id"/> as a mirror would, keeping the password it chose (which never went to the server).</summary>
    public static async Task<Enrolled> EnrollAsync(MembershipService service, string id)
    {
        var (token, _) = await service.IssueTokenAsync();
        var password = MirrorIdentity.NewPassword();
        var request = Request(id, token, password);
        var result = await service.EnrollAsync(request);
        Assert.True(result.Ok, result.Reason);
        return new Enrolled(result.Value!.User, password, request.PublicKey!, result.Value.SharedUser);
    }
}

/// <summary>What an enrolled test mirror holds: the user enrollment named, and the password and key it made itself.</summary>
internal sealed record Enrolled(string? User, string Password, string PublicKey, bool SharedUser);
