using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Membership;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Membership;

public sealed class MembershipServiceTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task Token_enroll_pending_approve()
    {
        var service = Members.Service(redis);
        var (token, expires) = await service.IssueTokenAsync(TimeSpan.FromHours(1));
        Assert.True(expires > DateTimeOffset.UtcNow);
        // Only the hash is stored.
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync($"dl:enroll:{token}"));

        var enrolled = await service.EnrollAsync(Members.Request("flow1", token));
        Assert.True(enrolled.Ok, enrolled.Reason);
        Assert.Equal("pending", enrolled.Value!.Status);
        Assert.Equal("dl-m-flow1", enrolled.Value.User);
        // No user until approval: ops' approval creates it from the hash.
        Assert.True((await redis.Admin.GetDatabase().ExecuteAsync("ACL", "GETUSER", "dl-m-flow1")).IsNull);

        var pending = await service.FindAsync("flow1");
        Assert.NotNull(pending);
        Assert.Equal(MirrorStatus.Pending, pending.Status);
        Assert.Equal(5_000_000_000_000, pending.QuotaBytes);
        // Nothing approved yet: no routing fields; what it asks for is the pending change.
        Assert.Empty(pending.Sets);
        Assert.Equal(new FieldChange("", "noobs"), pending.PendingChange![Keyspace.InfoFields.Sets]);

        Assert.Equal("", pending.PublicKey);

        var approved = await service.ApproveAsync("flow1");
        Assert.True(approved.Ok);
        var record = (await service.FindAsync("flow1"))!;
        Assert.Equal(MirrorStatus.Approved, record.Status);
        Assert.True(MirrorIdentity.IsPublicKey(record.PublicKey));
        Assert.False((await redis.Admin.GetDatabase().ExecuteAsync("ACL", "GETUSER", "dl-m-flow1")).IsNull);
        Assert.Equal(["noobs"], record.Sets);
        Assert.Null(record.PendingChange);
    }

    [Fact]
    public async Task Enrollment_without_a_valid_public_key_or_password_hash_is_refused_without_burning_the_token()
    {
        var service = Members.Service(redis);
        var (token, _) = await service.IssueTokenAsync();
        var noKey = Members.Request("nokey1", token) with { PublicKey = null };
        Assert.Equal(MembershipError.InvalidInfo, (await service.EnrollAsync(noKey)).Error);
        var badKey = Members.Request("nokey1", token) with { PublicKey = Convert.ToBase64String(new byte[31]) };
        Assert.Equal(MembershipError.InvalidInfo, (await service.EnrollAsync(badKey)).Error);
        // A hash is exactly 64 lower-case hex digits: nothing else can reach the ACL rule after '#'.
        foreach (var hash in new[] { null, "", new string('A', 64), new string('a', 63), new string('a', 64) + " on allkeys", "x" + new string('a', 63) })
        {
            var bad = Members.Request("nokey1", token) with { PasswordSha256 = hash };
            Assert.Equal(MembershipError.InvalidInfo, (await service.EnrollAsync(bad)).Error);
        }
        Assert.True((await service.EnrollAsync(Members.Request("nokey1", token))).Ok);
    }

    [Theory]
    [InlineData("httpUrl", "javascript:alert(1)")]
    [InlineData("httpUrl", "http://user:secret@mirror.example")]
    [InlineData("country", "ÖS")]
    [InlineData("continent", "Mars")]
    [InlineData("lat", "123")]
    [InlineData("asn", "99999999999")]
    [InlineData("sets", "../../etc")]
    public async Task Enrollment_refuses_bad_info_with_one_line_and_keeps_the_token(string field, string value)
    {
        var service = Members.Service(redis);
        var (token, _) = await service.IssueTokenAsync();
        var request = Members.Request($"bad-{field.ToLowerInvariant()}-{value.Length}", token);
        var bad = request with { Info = new(request.Info) { [field] = value } };

        var result = await service.EnrollAsync(bad);

        Assert.Equal(MembershipError.InvalidInfo, result.Error);
        Assert.Contains(field, result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', result.Reason);
        Assert.True((await service.EnrollAsync(request)).Ok, "the token still works");
    }

    [Fact]
    public async Task A_change_the_mirror_writes_is_pending_until_ops_approve_it_and_an_invalid_one_cannot_be_approved()
    {
        var service = Members.Service(redis);
        await Members.EnrollAsync(service, "mover1");
        Assert.True((await service.ApproveAsync("mover1")).Ok);
        var db = redis.Admin.GetDatabase();
        var approvedUrl = (await service.FindAsync("mover1"))!.HttpUrl;
        Assert.NotEqual("", approvedUrl);

        // The mirror's own user rewrites its info: a new URL and a big ISP's AS.
        await MirrorStore.WriteInfoAsync(db, "mover1", [new(Keyspace.InfoFields.HttpUrl, "http://new.example/"), new(Keyspace.InfoFields.Asn, "7922")]);
        var pending = (await service.FindAsync("mover1"))!;
        Assert.Equal(approvedUrl, pending.HttpUrl);
        Assert.Equal(0, pending.Asn);
        Assert.Equal(new FieldChange(approvedUrl, "http://new.example"), pending.PendingChange![Keyspace.InfoFields.HttpUrl]);
        Assert.Equal(new FieldChange("", "7922"), pending.PendingChange[Keyspace.InfoFields.Asn]);
        Assert.Equal(approvedUrl, (await service.ListAsync()).Single(m => m.Id == "mover1").HttpUrl);

        Assert.True((await service.ApproveAsync("mover1")).Ok);
        var applied = (await service.FindAsync("mover1"))!;
        Assert.Equal(("http://new.example", 7922L), (applied.HttpUrl, applied.Asn));
        Assert.Null(applied.PendingChange);

        // An invalid request is shown as such and approving it is refused; the approved record stays.
        await MirrorStore.WriteInfoAsync(db, "mover1", [new(Keyspace.InfoFields.Country, "ÖS")]);
        Assert.StartsWith("(invalid", (await service.FindAsync("mover1"))!.PendingChange![Keyspace.InfoFields.Country].Requested, StringComparison.Ordinal);
        var refused = await service.ApproveAsync("mover1");
        Assert.Equal(MembershipError.InvalidInfo, refused.Error);
        Assert.Contains("country", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(("http://new.example", ""), ((await service.FindAsync("mover1"))!.HttpUrl, (await service.FindAsync("mover1"))!.Country));
    }

    [Fact]
    public async Task A_token_works_once()
    {
        var service = Members.Service(redis);
        var (token, _) = await service.IssueTokenAsync();
        Assert.True((await service.EnrollAsync(Members.Request("once1", token))).Ok);
        var again = await service.EnrollAsync(Members.Request("once2", token));
        Assert.Equal(MembershipError.InvalidToken, again.Error);
        Assert.Null(await service.FindAsync("once2"));
    }

    [Fact]
    public async Task Unknown_token_bad_id_bad_url_and_taken_id_are_refused_without_burning_the_token()
    {
        var service = Members.Service(redis);
        Assert.Equal(MembershipError.InvalidToken, (await service.EnrollAsync(Members.Request("nope1", "dlt_wrong"))).Error);
        var (token, _) = await service.IssueTokenAsync();
        Assert.Equal(MembershipError.InvalidId, (await service.EnrollAsync(Members.Request("Bad Id", token))).Error);
        var noUrl = Members.Request("nourl", token) with { Info = new() { ["httpUrl"] = "ftp://x" } };
        Assert.Equal(MembershipError.InvalidInfo, (await service.EnrollAsync(noUrl)).Error);
        await Members.EnrollAsync(service, "taken1");
        Assert.Equal(MembershipError.IdTaken, (await service.EnrollAsync(Members.Request("taken1", token))).Error);
        // Still good after all those refusals.
        Assert.True((await service.EnrollAsync(Members.Request("finally1", token))).Ok);
    }

    [Fact]
    public async Task Two_tokens_racing_for_one_id_enroll_it_once_and_the_loser_keeps_its_token()
    {
        var service = Members.Service(redis);
        for (var round = 0; round < 20; round++)
        {
            var id = $"race{round}";
            var (first, _) = await service.IssueTokenAsync();
            var (second, _) = await service.IssueTokenAsync();
            var results = await Task.WhenAll(service.EnrollAsync(Members.Request(id, first)), service.EnrollAsync(Members.Request(id, second)));
            Assert.Single(results, r => r.Ok);
            Assert.Single(results, r => r.Error == MembershipError.IdTaken);
            // The winner's password is the one Redis holds; the loser's token still works for another id.
            var loser = results[0].Ok ? second : first;
            Assert.True((await service.EnrollAsync(Members.Request(id + "b", loser))).Ok);
        }
    }

    [Fact]
    public async Task A_null_info_field_is_refused_without_burning_the_token()
    {
        var service = Members.Service(redis);
        var (token, _) = await service.IssueTokenAsync();
        var request = Members.Request("nullname", token);
        request.Info["name"] = null!;
        var refused = await service.EnrollAsync(request);
        Assert.Equal(MembershipError.InvalidInfo, refused.Error);
        Assert.Equal("info field 'name' is null", refused.Reason);
        Assert.True((await service.EnrollAsync(Members.Request("nullname", token))).Ok);
    }

    [Fact]
    public async Task Enable_disable_drain_change_the_config_and_unknown_mirrors_are_not_found()
    {
        var service = Members.Service(redis);
        await Members.EnrollAsync(service, "ops1");
        Assert.True((await service.SetEnabledAsync("ops1", false)).Ok);
        Assert.True((await service.SetDrainingAsync("ops1", true)).Ok);
        var m = (await service.FindAsync("ops1"))!;
        Assert.False(m.Enabled);
        Assert.True(m.Draining);
        Assert.Equal(MembershipError.NotFound, (await service.ApproveAsync("ghost")).Error);
        Assert.Equal("0", (string?)await redis.Admin.GetDatabase().HashGetAsync(Keyspace.MirrorConfig("ops1"), Keyspace.ConfigFields.Enabled));
    }

    [Fact]
    public async Task Removing_a_mirror_deletes_its_keys_and_user_so_the_id_can_enroll_again()
    {
        var service = Members.Service(redis);
        await Members.EnrollAsync(service, "rm1");
        await service.SetCapacityAsync("rm1", 300);
        Assert.Equal(300, (await service.FindAsync("rm1"))!.CapacityMbps);
        Assert.True((await service.RemoveAsync("rm1")).Ok);
        Assert.Null(await service.FindAsync("rm1"));
        Assert.True((await redis.Admin.GetDatabase().ExecuteAsync("ACL", "GETUSER", "dl-m-rm1")).IsNull);
        Assert.False(await redis.Admin.GetDatabase().KeyExistsAsync(Keyspace.MirrorConfig("rm1")));
        Assert.Equal(MembershipError.NotFound, (await service.RemoveAsync("rm1")).Error);
        await Members.EnrollAsync(service, "rm1");
    }

    [Fact]
    public async Task A_user_that_may_not_manage_users_enrolls_but_cannot_approve_or_remove_which_the_ops_path_does()
    {
        // A redirector's least-privileged user: everything on dl:* but no ACL command.
        await redis.Admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "no-acl", "on", ">pw", "~*", "&*", "+@all", "-acl");
        await using var mux = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},user=no-acl,password=pw");
        var service = new MembershipService(mux, Microsoft.Extensions.Options.Options.Create(new MembershipOptions()), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<MembershipService>.Instance);

        var enrolled = await Members.EnrollAsync(service, "lp1");
        Assert.Equal("dl-m-lp1", enrolled.User);
        Assert.False(enrolled.SharedUser);

        var refused = await service.ApproveAsync("lp1");
        Assert.Equal(MembershipError.NeedsOpsPath, refused.Error);
        Assert.Contains("redirector mirrors approve", refused.Reason, StringComparison.Ordinal);
        var still = (await service.FindAsync("lp1"))!;
        Assert.Equal(MirrorStatus.Pending, still.Status);
        Assert.Equal("", still.PublicKey);

        // The ops path (the admin user) approves; then the redirector's user cannot remove it either.
        var ops = Members.Service(redis);
        Assert.True((await ops.ApproveAsync("lp1")).Ok);
        Assert.Equal(MembershipError.NeedsOpsPath, (await service.RemoveAsync("lp1")).Error);
        Assert.NotNull(await service.FindAsync("lp1"));
        Assert.True((await ops.RemoveAsync("lp1")).Ok);
        Assert.Null(await service.FindAsync("lp1"));
    }
}
