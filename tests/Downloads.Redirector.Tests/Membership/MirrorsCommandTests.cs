using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Membership;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Membership;

public sealed class MirrorsCommandTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MirrorsCommand.RunAsync([.. args, $"--Redis:Configuration={redis.Configuration}"], output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Ops_issue_a_token_approve_set_capacity_and_list_from_the_command_line()
    {
        var (code, text, _) = await RunAsync("token");
        Assert.Equal(0, code);
        var token = text.Split(' ')[0];
        var service = Members.Service(redis);
        Assert.True((await service.EnrollAsync(Members.Request("cli1", token))).Ok);

        Assert.Equal(0, (await RunAsync("approve", "cli1")).Code);
        Assert.Equal(0, (await RunAsync("capacity", "cli1", "750")).Code);
        Assert.Equal(0, (await RunAsync("drain", "cli1")).Code);
        var m = (await service.FindAsync("cli1"))!;
        Assert.Equal(MirrorStatus.Approved, m.Status);
        Assert.Equal(750, m.CapacityMbps);
        Assert.True(m.Draining);

        var list = await RunAsync("list");
        Assert.Contains("cli1", list.Out);
        Assert.Contains("approved", list.Out);
    }

    [Fact]
    public async Task An_unknown_mirror_exits_non_zero_with_a_message()
    {
        var (code, _, err) = await RunAsync("approve", "ghost");
        Assert.Equal(1, code);
        Assert.Contains("no mirror 'ghost'", err);
    }
}
