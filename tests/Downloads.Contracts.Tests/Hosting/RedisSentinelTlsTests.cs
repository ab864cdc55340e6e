using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Downloads.Contracts.Tests.Hosting;

/// <summary>
/// Sentinel as Ansible configures it (ansible/roles/redis/templates/sentinel.conf.j2): TLS only, default user
/// off, service users that may only discover the primary. A service with <c>serviceName=</c> connects through
/// it with its Redis user and the private CA; nobody without a password can change the topology.
/// </summary>
public sealed class RedisSentinelTlsTests : IDisposable
{
    /// <summary>The rules <c>redis_sentinel_client_rules</c> gives service users on Sentinel (ansible/roles/redis/defaults/main.yml).</summary>
    internal const string ClientRules =
        "-@all +ping +auth +hello +info +role +subscribe +unsubscribe +psubscribe +punsubscribe " +
        "+client|setname +client|getname +client|id +sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters " +
        "+sentinel|replicas +sentinel|slaves +sentinel|sentinels +sentinel|myid";

    private readonly TempDirectory _dir = new("sentinel-tls");
    private readonly TestCertificateAuthority _ca = new("Downloads test Redis CA");

    [Fact]
    public async Task A_service_finds_the_primary_through_an_authenticated_TLS_sentinel_and_strangers_cannot_touch_it()
    {
        var caFile = _ca.WriteCertificate(_dir.Combine("ca.pem"));
        var (cert, key) = _ca.IssueLoopback(_dir.Combine("redis"));
        string[] tls = [$"tls-cert-file {cert}", $"tls-key-file {key}", $"tls-ca-cert-file {caFile}", "tls-auth-clients no", "tls-replication yes"];
        await using var primary = RedisServer.WithTls(cert, key, caFile, "--user", "dl-redirector", "on", ">redirector-pw", "~*", "&*", "+@all");
        using var sentinel = new SentinelProcess(true, [
            .. tls,
            "user default off",
            "user dl-admin on >admin-pw +@all",
            $"user dl-redirector on >redirector-pw {ClientRules}",
            $"sentinel monitor dl 127.0.0.1 {primary.Port} 1",
        ]);

        await using var services = RedisTlsTests.Services(
            $"{sentinel.Endpoint},serviceName=dl,user=dl-redirector,password=redirector-pw,abortConnect=false", caFile);
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        var db = redis.GetDatabase();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await db.StringSetAsync("dl:sentinel-probe", "found");
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "a write through the sentinel's primary");
        Assert.Equal("found", (string?)await db.StringGetAsync("dl:sentinel-probe"));

        // No password: refused. The service's own user: may discover, may not change anything.
        Assert.StartsWith("NOAUTH", await SentinelAsync(sentinel, caFile, null, "SENTINEL", "REMOVE", "dl"), StringComparison.Ordinal);
        Assert.StartsWith("NOPERM", await SentinelAsync(sentinel, caFile, ("dl-redirector", "redirector-pw"), "SENTINEL", "REMOVE", "dl"), StringComparison.Ordinal);
        Assert.StartsWith("NOPERM", await SentinelAsync(sentinel, caFile, ("dl-redirector", "redirector-pw"), "SENTINEL", "FAILOVER", "dl"), StringComparison.Ordinal);
        Assert.StartsWith("NOPERM", await SentinelAsync(sentinel, caFile, ("dl-redirector", "redirector-pw"), "SENTINEL", "SET", "dl", "quorum", "9"), StringComparison.Ordinal);
        Assert.Contains(primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            await SentinelAsync(sentinel, caFile, ("dl-admin", "admin-pw"), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "dl"), StringComparison.Ordinal);
    }

    /// <summary>One command with redis-cli over TLS, as ops would type it; returns what it printed.</summary>
    private static async Task<string> SentinelAsync(SentinelProcess sentinel, string caFile, (string User, string Password)? auth, params string[] command)
    {
        List<string> args = ["--tls", "--cacert", caFile, "-h", "127.0.0.1", "-p", sentinel.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-auth-warning"];
        if (auth is { } a)
            args.AddRange(["--user", a.User, "--pass", a.Password]);
        var (_, output) = await ExternalTool.RunAsync("redis-cli", Path.GetTempPath(), [.. args, .. command]);
        return output.Trim();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }
}
