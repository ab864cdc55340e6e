using System.CommandLine;
using Downloads.Contracts.Hosting;
using Downloads.Origin.Staging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Origin.Publishing;

/// <summary>
/// <c>origin publish --Origin:Root=… --Origin:StateDir=… --Origin:PrivateKeyFile=… [--Redis:Configuration=…]</c>:
/// the same configuration keys (and <c>Origin__*</c> environment variables) as the running service,
/// so one set of settings drives both. <c>origin publish --release-at T --file FILE --as SET/NAME</c> publishes FILE at a
/// fixed time instead: it stages it exactly as <c>origin stage</c> does (<see cref="StagingCommands"/>, same
/// validation and messages), and the running origin releases it at T.
/// </summary>
public static class PublishCommand
{
    /// <summary>The verb.</summary>
    public const string Name = "publish";

    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output, TimeProvider time)
    {
        // An option, not a positional FILE as `origin stage` has: publish passes its unmatched tokens on as settings
        // (`--Origin:Root=…`), which a positional argument would swallow.
        var file = new Option<string?>("--file") { Description = "With --release-at: the file to release (outside Origin:Root)" };
        var path = new Option<string?>("--as") { Description = "With --release-at: its manifest path at release, e.g. os/raspios-2027.img.xz" };
        var releaseAt = new Option<string?>("--release-at")
        {
            Description = "Publish FILE at this time (ISO-8601 UTC, e.g. 2027-02-02T09:00:00Z) instead of the tree now: stages it encrypted, as `origin stage`",
        };
        var command = new Command(Name, "Rescans the tree, signs and publishes the next serial, announces it on Redis; with --release-at, stages one file for release at a fixed time.")
        {
            file,
            path,
            releaseAt,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var (source, name, at) = (parse.GetValue(file), parse.GetValue(path), parse.GetValue(releaseAt));
            if (source is not null || name is not null || at is not null)
                return await StagingCommands.StageAsync(parse, output, time, source, name, at, ct);
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
