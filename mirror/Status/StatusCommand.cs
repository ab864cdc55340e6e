using System.Text.Json;
using Downloads.Contracts.Hosting;
using Downloads.Mirror.Enrollment;
using StackExchange.Redis;

namespace Downloads.Mirror.Status;

/// <summary>
/// <c>Downloads.Mirror status [--env-file FILE] [--json] [--Section:Key=value …]</c>: shows the donor how the
/// network sees this mirror (approval, heartbeat, health checks, traffic, quota pace) without asking ops.
/// It reads the service's own configuration (the unit's environment file; default
/// <see cref="EnvironmentFile.DefaultPath"/> when it exists, then environment variables, then the command
/// line) and connects as the mirror's own Redis user from its saved credentials, which may read only this
/// mirror's keys. It writes nothing and never enrolls. Exit code: <see cref="Shown"/>,
/// <see cref="NotApproved"/> (pending: the mirror's Redis user stays off until ops approve), or
/// <see cref="Failed"/> with one line saying why.
/// </summary>
internal static class StatusCommand
{
    /// <summary>The verb.</summary>
    public const string Name = "status";
    /// <summary>Exit code: the report was shown and the mirror is approved.</summary>
    public const int Shown = 0;
    /// <summary>Exit code: the report could not be read (the line says why).</summary>
    public const int Failed = 1;
    /// <summary>Exit code: the mirror is not approved yet.</summary>
    public const int NotApproved = 3;

    private const string Usage = "usage: Downloads.Mirror status [--env-file FILE] [--json] [--Section:Key=value ...]";

    /// <summary>Runs the command with the arguments after the verb.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        string? envFile = null;
        var json = false;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--env-file" when i + 1 < args.Length:
                    envFile = args[++i];
                    break;
                case "--json":
                    json = true;
                    break;
                case "-h" or "--help":
                    await output.WriteLineAsync(Usage);
                    return Shown;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }
        try
        {
            var config = Configuration(envFile, rest);
            var id = config["Mirror:Id"];
            var dataDir = config["Mirror:DataDir"];
            if (string.IsNullOrWhiteSpace(id) || string.IsNullOrWhiteSpace(dataDir))
                return await FailAsync(error, $"Mirror:Id and Mirror:DataDir are not set; pass the service's configuration with --env-file (default {EnvironmentFile.DefaultPath})");
            var connection = Credentials(config["Redis:Configuration"] ?? "127.0.0.1:6379", id, dataDir);
            if (connection.Error is not null)
                return await FailAsync(error, connection.Error);

            var options = RedisTls.Configure(new RedisOptions { Configuration = connection.Value!, CaCertificate = config["Redis:CaCertificate"] });
            options.AbortOnConnectFail = true;
            options.ConnectTimeout = 5000;
            options.SyncTimeout = options.AsyncTimeout = 5000;
            options.ClientName = $"status-{id}";
            ConnectionMultiplexer redis;
            try
            {
                redis = await ConnectionMultiplexer.ConnectAsync(options);
            }
            catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure || e.ToString().Contains("WRONGPASS", StringComparison.Ordinal))
            {
                await error.WriteLineAsync($"status: Redis refused the mirror's user {options.User}: it stays switched off until ops approve mirror {id} (or ops removed it). Ask ops, then run status again.");
                return NotApproved;
            }
            await using (redis)
            {
                var report = await StatusReader.ReadAsync(redis.GetDatabase(), id, time.GetUtcNow());
                await output.WriteAsync(json ? JsonSerializer.Serialize(report, JsonSerializerOptions.Web) + "\n" : StatusText.Format(report));
                return report.Approval == "approved" ? Shown : NotApproved;
            }
        }
        catch (Exception e) when (e is RedisException or IOException or UnauthorizedAccessException or FormatException or JsonException or InvalidDataException)
        {
            return await FailAsync(error, e.Message);
        }
    }

    private static IConfiguration Configuration(string? envFile, List<string> args)
    {
        envFile ??= File.Exists(EnvironmentFile.DefaultPath) ? EnvironmentFile.DefaultPath : null;
        var builder = new ConfigurationBuilder();
        if (envFile is not null)
            builder.AddInMemoryCollection(EnvironmentFile.AsConfiguration(EnvironmentFile.Read(envFile)));
        return builder.AddEnvironmentVariables().AddCommandLine([.. args]).Build();
    }

    /// <summary>
    /// The connection string the service itself ends up with (<see cref="EnrollmentClient"/>): a user in the
    /// configuration wins, else the saved credentials of enrollment, else a shared-user store's connection.
    /// </summary>
    private static (string? Value, string? Error) Credentials(string configuration, string id, string dataDir)
    {
        var parsed = ConfigurationOptions.Parse(configuration);
        if (!string.IsNullOrEmpty(parsed.User))
            return (configuration, null);
        var saved = SavedCredentials.Load(dataDir);
        if (saved is null)
            return (null, $"{SavedCredentials.PathIn(dataDir)} does not exist: the mirror has not enrolled yet (it does at its first start, with Enrollment__Token)");
        if (saved.Id != id)
            return (null, $"{SavedCredentials.PathIn(dataDir)} holds the credentials of mirror '{saved.Id}', not '{id}'");
        if (saved.SharedUser || string.IsNullOrEmpty(saved.User))
            return (configuration, null);
        parsed.User = saved.User;
        parsed.Password = saved.Password;
        return (parsed.ToString(includePassword: true), null);
    }

    private static async Task<int> FailAsync(TextWriter error, string reason)
    {
        await error.WriteLineAsync($"status: {reason}");
        return Failed;
    }
}
