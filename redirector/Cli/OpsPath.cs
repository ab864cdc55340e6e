using System.Text.Json;
using Downloads.Contracts.Hosting;
using Downloads.Redirector.Membership;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Cli;

/// <summary>
/// The ops path: the verbs that manage mirrors' Redis users (approve, remove, sync-users) run here, on the ops
/// host, straight against Redis with the admin user (<c>--redis</c> or <c>DOWNLOADS_ADMIN_REDIS</c>), through the
/// same <see cref="MembershipService"/> the admin API uses. A redirector's own Redis user may not create users
/// (least privilege, docs/keyspace.md), so it cannot do these itself.
/// </summary>
internal static class OpsPath
{
    // As the admin API writes records (an unknown coordinate is NaN), so --json prints the same either way.
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Environment variable naming the PEM file of the CA that Redis's TLS certificates chain to (docs/ops.md), when Redis speaks TLS.</summary>
    public const string AdminRedisCaVariable = "DOWNLOADS_ADMIN_REDIS_CA";

    /// <summary>Connects with <paramref name="configuration"/> (list every Redis node, so users reach them all) and runs <paramref name="operation"/>.</summary>
    public static async Task<AdminAnswer> RunAsync<T>(string configuration, Func<MembershipService, Task<MembershipResult<T>>> operation)
    {
        ConnectionMultiplexer redis;
        try
        {
            // Over TLS the admin user trusts only the network's private CA, like every service (RedisTls).
            var options = RedisTls.Configure(new RedisOptions
            {
                Configuration = configuration,
                CaCertificate = Environment.GetEnvironmentVariable(AdminRedisCaVariable) ?? "",
            });
            options.AbortOnConnectFail = true;
            redis = await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (Exception e) when (e is RedisException or ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
        {
            return new(ExitCodes.Unavailable, default, $"cannot connect to Redis ({e.Message})");
        }
        await using (redis)
        {
            var membership = new MembershipService(redis, Options.Create(new MembershipOptions()), TimeProvider.System,
                NullLogger<MembershipService>.Instance);
            try
            {
                var result = await operation(membership);
                if (!result.Ok)
                    return new(result.Error == MembershipError.NeedsOpsPath ? ExitCodes.Unauthorized : ExitCodes.Refused, default, result.Reason);
                return new(ExitCodes.Ok, JsonSerializer.SerializeToElement(result.Value, Web), "");
            }
            catch (RedisException e)
            {
                return new(ExitCodes.Unavailable, default, $"Redis failed: {e.Message}");
            }
        }
    }
}
