using System.CommandLine;
using Downloads.Contracts.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Origin.Publishing;

/// <summary>
/// <c>origin publish --Origin:Root=… --Origin:StateDir=… --Origin:PrivateKeyFile=… [--Redis:Configuration=…]</c>:
/// the same configuration keys (and <c>Origin__*</c> environment variables) as the running service,
/// so one set of settings drives both.
/// </summary>
public static class PublishCommand
{
    /// <summary>The verb.</summary>
    public const string Name = "publish";

    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command(Name, "Rescans the tree, signs and publishes the next serial, announces it on Redis.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(async (parse, ct) =>
        {
            var config = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine([.. parse.UnmatchedTokens]).Build();
            var options = config.GetSection(OriginOptions.Section).Get<OriginOptions>() ?? new OriginOptions();
            if (string.IsNullOrWhiteSpace(options.Root) || string.IsNullOrWhiteSpace(options.StateDir))
                throw new InvalidOperationException("set --Origin:Root=DIR and --Origin:StateDir=DIR");
            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
            var logger = loggers.CreateLogger("Downloads.Origin.Publish");
            var result = await new Publisher(options, TimeProvider.System, logger).PublishAsync(ct);
            await output.WriteLineAsync($"published serial {result.Serial}: {result.Files} files, {result.Hashed} hashed, {result.Changed} changed");
            var redis = config.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
            var redisConfig = RedisTls.Configure(redis);
            redisConfig.AbortOnConnectFail = false;
            redisConfig.ConnectTimeout = 2000;
            redisConfig.ConnectRetry = 1;
            using var mux = await ConnectionMultiplexer.ConnectAsync(redisConfig);
            if (mux.IsConnected)
                await Announcer.AnnounceAsync(mux, result.Serial, logger);
            else
                await output.WriteLineAsync($"Redis at {redis.Configuration} is unreachable: serial {result.Serial} not announced; mirrors will find it by polling");
            return 0;
        });
        return command;
    }
}
