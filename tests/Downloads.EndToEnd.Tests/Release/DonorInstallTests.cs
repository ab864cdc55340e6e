using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.EndToEnd.Tests.Hosting;
using Downloads.EndToEnd.Tests.Network;
using Downloads.Testing;
using StackExchange.Redis;
using static Downloads.EndToEnd.Tests.Network.TestNetworkRig;

namespace Downloads.EndToEnd.Tests.Release;

/// <summary>
/// docs/donate.md, done as a donor does it: the published linux-x64 archive is checked against the signed
/// SHA256SUMS, unpacked and installed with its install.sh into a temporary prefix, configured from the
/// example file with what ops send (a one-time token, URLs, the public key), and its binary started the way
/// its systemd unit says (ExecStart, WorkingDirectory, EnvironmentFile). Against a real network on loopback
/// (redis-server, origin, redirector) it enrolls, waits as pending, is approved through the admin API, and
/// serves a file the redirector points a London client to, byte for byte the manifest's. Its status command
/// tells the donor each stage, read with the mirror's own Redis user.
/// </summary>
public sealed class DonorInstallTests : IAsyncLifetime
{
    private const string FilePath = "os/raspios-donor.img.xz";
    private const string Id = "donor-cam";
    private const string OpsPassword = "donor-ops-secret";

    private readonly TestNetworkRig _net = new("donor");
    private ServiceProcess? _mirror;
    private ConnectionMultiplexer? _ops;

    public async Task InitializeAsync()
    {
        // As in production: the services use their own Redis user and the default user is off, so a mirror
        // whose own user is not on yet cannot quietly work as someone else.
        var admin = _net.Redis.Admin.GetDatabase();
        await admin.ExecuteAsync("ACL", "SETUSER", "ops", "on", ">" + OpsPassword, "~*", "&*", "+@all");
        await admin.ExecuteAsync("ACL", "SETUSER", "default", "off");
        _net.RedisConfiguration = $"{_net.Redis.Endpoint},user=ops,password={OpsPassword}";
        _ops = await ConnectionMultiplexer.ConnectAsync(_net.RedisConfiguration + ",allowAdmin=true");
        var bytes = new byte[600_000];
        new Random(17).NextBytes(bytes);
        await _net.WriteOriginFileAsync(FilePath, bytes);
        await _net.StartOriginAsync(null);
        await _net.StartRedirectorAsync("--Health:Interval=00:00:01");
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_mirror is not null)
                await _mirror.DisposeAsync();
            _ops?.Dispose();
        }
        finally
        {
            await _net.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_donor_installs_the_release_enrolls_with_a_token_is_approved_and_serves_a_verified_file()
    {
        // 1. The download, checked as docs/donate.md says: the signature of SHA256SUMS, then the archive's hash.
        var release = await DonorRelease.FolderAsync();
        var verified = await Command.RunOkAsync("minisign", release, TimeSpan.FromSeconds(30), "-V", "-m", "SHA256SUMS", "-p", "minisign.pub");
        Assert.Contains("downloads", verified);
        var archive = "downloads-mirror-linux-x64.tar.gz";
        var sums = await Command.RunOkAsync("sha256sum", release, TimeSpan.FromSeconds(60), "--ignore-missing", "-c", "SHA256SUMS");
        Assert.Contains($"{archive}: OK", sums);

        // 2. Unpack and install into a prefix.
        var unpacked = _net.Dir.Combine("unpacked");
        Directory.CreateDirectory(unpacked);
        await Command.RunOkAsync("tar", unpacked, TimeSpan.FromSeconds(120), "-xzf", Path.Combine(release, archive));
        var prefix = _net.Dir.Combine("prefix");
        var installed = await Command.RunOkAsync("sh", unpacked, TimeSpan.FromSeconds(60), "downloads-mirror-linux-x64/install.sh", "--prefix", prefix);
        Assert.Contains("fill in", installed);
        var unit = Unit.Read(Path.Combine(prefix, "etc/systemd/system/downloads-mirror.service"));
        Assert.Equal(Path.Combine(prefix, "opt/downloads-mirror/Downloads.Mirror"), unit.ExecStart);
        Assert.Equal(Path.Combine(prefix, "etc/downloads-mirror/mirror.env"), unit.EnvironmentFile);
        Assert.Contains("ProtectSystem=strict", unit.Text);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(unit.EnvironmentFile));

        // 3. What ops send: a one-time token, the redirector, the upstream, the Redis address and the public key.
        var token = await _net.EnrollmentTokenAsync();
        var port = FreePort.Next();
        var url = $"http://127.0.0.1:{port}";
        EnvFile.Set(unit.EnvironmentFile, new()
        {
            ["ASPNETCORE_URLS"] = url,
            ["Mirror__Id"] = Id,
            ["Mirror__Name"] = "Donated in Cambridge",
            ["Mirror__HttpUrl"] = url,
            ["Mirror__Upstream"] = _net.Origin.BaseUrl,
            ["Mirror__PublicKey"] = _net.PublicKey,
            ["Redis__Configuration"] = _net.Redis.Endpoint,
            ["Enrollment__Token"] = token,
            ["Enrollment__Redirector"] = _net.Redirector.BaseUrl,
            ["Mirror__Latitude"] = "52.2053",
            ["Mirror__Longitude"] = "0.1218",
            ["Mirror__Country"] = "GB",
            ["Mirror__Continent"] = "EU",
            ["Mirror__QuotaTB"] = "2",
        });

        // Before the first start there are no credentials: status says so instead of enrolling.
        var early = await StatusAsync(unit);
        Assert.Equal(1, early.Exit);
        Assert.Contains("not enrolled yet", early.Err);

        // 4. Start it as the unit would; it enrolls and waits for ops.
        _mirror = ServiceProcess.StartExecutable(unit.ExecStart, unit.WorkingDirectory, EnvFile.Read(unit.EnvironmentFile));
        await Eventually.TrueAsync(async () => (await RecordAsync())?.Status == MirrorStatus.Pending || _mirror.HasExited,
            TimeSpan.FromSeconds(60), "the installed mirror enrolled");
        Assert.False(_mirror.HasExited, _mirror.Output);
        Assert.Equal(MirrorStatus.Pending, (await RecordAsync())!.Status);
        var pending = await StatusAsync(unit);
        Assert.True(pending.Exit == 3, $"status of a pending mirror exited {pending.Exit}: {pending.Out}{pending.Err}");
        Assert.True(pending.Err.Contains("until ops approve", StringComparison.Ordinal), pending.Out + pending.Err);

        // 5. Ops approve; the redirector sends a London client to the donated mirror, which serves the manifest's bytes.
        await _net.AdminAsync(HttpMethod.Post, $"/-/api/mirrors/{Id}/approve", null);
        await Eventually.TrueAsync(async () => (await RedirectAsync())?.StartsWith(url + "/", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(90), "the redirector sends London to the donated mirror");
        var location = (await RedirectAsync())!;
        Assert.Equal($"{url}/{FilePath}", location);
        var entry = (await _net.ManifestAsync()).Files.Single(f => f.Path == FilePath);
        var body = await _net.Http.GetByteArrayAsync(location);
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(body)));
        var clients = (string)(await _ops!.GetDatabase().ExecuteAsync("CLIENT", "LIST"))!;
        Assert.Contains($"user=dl-m-{Id}", clients);

        // 6. The donor's view: approved, alive, health checked and passing, the download counted against the quota.
        JsonElement report = default;
        await Eventually.TrueAsync(async () =>
        {
            var json = await StatusAsync(unit, "--json");
            if (json.Exit != 0)
                return false;
            report = JsonDocument.Parse(json.Out).RootElement;
            return report.GetProperty("health").ValueKind == JsonValueKind.Object && report.GetProperty("health").GetProperty("checked").GetBoolean()
                && report.GetProperty("quota").GetProperty("usedBytes").GetInt64() >= body.Length;
        }, TimeSpan.FromSeconds(60), "status shows the health check and the served bytes");
        Assert.Equal("approved", report.GetProperty("approval").GetString());
        Assert.True(report.GetProperty("alive").GetBoolean());
        Assert.True(report.GetProperty("health").GetProperty("ok").GetBoolean());
        Assert.Equal(2_000_000_000_000, report.GetProperty("quota").GetProperty("quotaBytes").GetInt64());
        Assert.Equal(0, report.GetProperty("notes").GetArrayLength());
        var text = await StatusAsync(unit);
        Assert.True(text.Exit == 0, text.Err);
        Assert.Contains($"Mirror {Id} (Donated in Cambridge)", text.Out);
        Assert.Contains("approved by ops; enabled", text.Out);
        Assert.Contains("alive: last report", text.Out);
        Assert.Contains("passing; last check", text.Out);
        Assert.Contains("of 2 TB used in", text.Out);
        Assert.False(_mirror.HasExited, _mirror.Output);
    }

    private static Task<(int Exit, string Out, string Err)> StatusAsync(Unit unit, params string[] extra) =>
        Command.RunAsync(unit.ExecStart, unit.WorkingDirectory, TimeSpan.FromSeconds(60), ["status", "--env-file", unit.EnvironmentFile, .. extra]);

    private Task<string?> RedirectAsync() => _net.RedirectAsync(FilePath, London);

    private async Task<MirrorRecord?> RecordAsync() =>
        (await MirrorStore.LoadAllAsync(_ops!.GetDatabase(), DateTimeOffset.UtcNow)).SingleOrDefault(m => m.Id == Id);
}
