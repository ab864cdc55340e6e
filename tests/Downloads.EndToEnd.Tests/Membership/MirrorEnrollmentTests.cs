using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Mirror;
using Downloads.Mirror.Enrollment;
using Downloads.Redirector;
using Downloads.Redirector.Membership;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Downloads.EndToEnd.Tests.Membership;

/// <summary>
/// A real mirror enrolls at a real redirector with a one-time token, ops approve it on the ops path (the CLI with
/// the admin Redis user), and it then runs as its own Redis user. The redirector runs as production's least-privileged
/// user (the rules Ansible ships), and the store's default user is switched off, so nothing can quietly fall back to it.
/// </summary>
public sealed class MirrorEnrollmentTests : IAsyncLifetime
{
    private const string OpsPassword = "ops-secret";
    private readonly RedisServer _redis = new();
    private readonly TempDirectory _data = new("enroll");
    private ConnectionMultiplexer _ops = null!;
    private WebApplication _redirector = null!;
    private int _redirectorPort;

    public async Task InitializeAsync()
    {
        var admin = _redis.Admin.GetDatabase();
        await admin.ExecuteAsync("ACL", "SETUSER", "ops", "on", ">" + OpsPassword, "~*", "&*", "+@all");
        await admin.ExecuteAsync("ACL", "SETUSER", "default", "off");
        _ops = await ConnectionMultiplexer.ConnectAsync($"{_redis.Endpoint},user=ops,password={OpsPassword},allowAdmin=true");
        _redirectorPort = FreePort.Next();
        await ShippedAcl.CreateAsync(admin, "dl-redirector", "redirector-secret");
        _redirector = RedirectorApp.Build([$"--urls=http://127.0.0.1:{_redirectorPort}",
            $"--Redis:Configuration={_redis.Endpoint},user=dl-redirector,password=redirector-secret", "--Admin:Token=t",
            $"--Health:AllowedNetworks={RedirectorArgs.ProbeAllowedNetworks}", $"--Redirector:PublicKey={Downloads.Contracts.Manifests.ManifestSigner.GenerateKeyPair().PublicKey}", "--Logging:LogLevel:Default=Warning"]);
        await _redirector.StartAsync();
    }

    public async Task DisposeAsync()
    {
        // Null-safe: when InitializeAsync threw half-way, the server must still go.
        try
        {
            if (_redirector is not null)
                await _redirector.DisposeAsync();
            _ops?.Dispose();
        }
        finally
        {
            _redis.Dispose();
            _data.Dispose();
        }
    }

    private WebApplication Mirror(params string[] extra) => MirrorApp.Build([
        $"--urls=http://127.0.0.1:{FreePort.Next()}", "--Mirror:Id=e2e1", $"--Mirror:DataDir={_data.Path}",
        "--Mirror:Upstream=http://127.0.0.1:9", "--Mirror:PublicKey=unused", "--Mirror:HttpUrl=http://e2e1.example.org",
        $"--Redis:Configuration={_redis.Endpoint}", "--Reporting:Interval=00:00:00.200", "--Logging:LogLevel:Default=Warning", .. extra]);

    private async Task<MirrorRecord?> LoadAsync() =>
        (await MirrorStore.LoadAllAsync(_ops.GetDatabase(), DateTimeOffset.UtcNow)).SingleOrDefault(m => m.Id == "e2e1");

    [Fact]
    public async Task Token_enrolls_the_mirror_as_pending_and_after_approval_it_reports_as_its_own_user_even_after_a_restart()
    {
        var membership = _redirector.Services.GetRequiredService<MembershipService>();
        var (token, _) = await membership.IssueTokenAsync();

        await using (var mirror = Mirror($"--Enrollment:Token={token}", $"--Enrollment:Redirector=http://127.0.0.1:{_redirectorPort}"))
        {
            await mirror.StartAsync();
            var file = SavedCredentials.PathIn(_data.Path);
            Assert.True(File.Exists(file));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            var saved = SavedCredentials.Load(_data.Path)!;
            Assert.Equal("dl-m-e2e1", saved.User);
            var keyFile = EnrollmentClient.IdentityKeyPath(_data.Path);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

            var pending = await LoadAsync();
            Assert.Equal(MirrorStatus.Pending, pending!.Status);
            Assert.Equal("", pending.HttpUrl); // nothing approved yet: its URL is only requested
            Assert.Equal("http://e2e1.example.org", (await membership.FindAsync("e2e1"))!.PendingChange![Keyspace.InfoFields.HttpUrl].Requested);

            // The redirector's own user may not create the mirror's user: its admin API says where to go.
            var refused = await membership.ApproveAsync("e2e1");
            Assert.Equal(MembershipError.NeedsOpsPath, refused.Error);
            Assert.Equal(MirrorStatus.Pending, (await LoadAsync())!.Status);

            // The ops path: the CLI with the admin user.
            var output = new StringWriter();
            var error = new StringWriter();
            var code = await Downloads.Redirector.Cli.OpsCli.RunAsync(["mirrors", "approve", "e2e1", "--json"], output, error,
                name => name == Downloads.Redirector.Cli.OpsCli.AdminRedisVariable ? $"{_redis.Endpoint},user=ops,password={OpsPassword}" : null);
            Assert.True(code == 0, error.ToString());
            // The JSON escapes "+" in base64, so compare the parsed value, not the text.
            Assert.Equal(saved.PublicKey, System.Text.Json.JsonDocument.Parse(output.ToString()).RootElement.GetProperty("publicKey").GetString());
            Assert.Equal("http://e2e1.example.org", (await LoadAsync())!.HttpUrl);
            await Eventually.TrueAsync(async () => (await LoadAsync())?.Alive == true, TimeSpan.FromSeconds(20), "approved mirror reports");
            Assert.Contains("user=dl-m-e2e1", await ClientListAsync());
            Assert.Equal(saved.PublicKey, (await LoadAsync())!.PublicKey);
            await mirror.StopAsync();
        }

        // The token is burnt; the saved credentials carry the restart.
        await _ops.GetDatabase().KeyDeleteAsync(Keyspace.MirrorState("e2e1"));
        await using (var again = Mirror($"--Enrollment:Token={token}", $"--Enrollment:Redirector=http://127.0.0.1:{_redirectorPort}"))
        {
            await again.StartAsync();
            await Eventually.TrueAsync(async () => (await _ops.GetDatabase().KeyExistsAsync(Keyspace.MirrorState("e2e1"))), TimeSpan.FromSeconds(20), "restarted mirror reports");
            await again.StopAsync();
        }
    }

    [Fact]
    public async Task A_wrong_token_stops_the_mirror_from_starting_with_a_clear_reason()
    {
        await using var mirror = Mirror("--Enrollment:Token=dlt_wrong", $"--Enrollment:Redirector=http://127.0.0.1:{_redirectorPort}");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => mirror.StartAsync());
        Assert.Contains("refused (403)", e.ToString());
        Assert.False(File.Exists(SavedCredentials.PathIn(_data.Path)));
    }

    private async Task<string> ClientListAsync() => (string)(await _ops.GetDatabase().ExecuteAsync("CLIENT", "LIST"))!;
}
