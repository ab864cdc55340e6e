using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Contracts.Hosting;

/// <summary>Registers the shared Redis connection.</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="RedisOptions"/> and a lazily connecting <see cref="IConnectionMultiplexer"/>.
    /// The multiplexer never fails start-up: with Redis down it keeps retrying in the background
    /// (<c>abortConnect=false</c>) so each service can run from what it has.
    /// </summary>
    public static IServiceCollection AddDownloadsRedis(this IServiceCollection services)
    {
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            var config = RedisTls.Configure(options);
            config.AbortOnConnectFail = false;
            config.ConnectTimeout = 2000;
            config.SyncTimeout = 2000;
            config.AsyncTimeout = 2000;
            config.ReconnectRetryPolicy = new ExponentialRetry(250, 5000);
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Downloads.Redis");
            var mux = ConnectionMultiplexer.Connect(config);
            mux.ConnectionFailed += (_, e) => RedisLog.ConnectionFailed(log, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
            mux.ConnectionRestored += (_, e) => RedisLog.ConnectionRestored(log, e.EndPoint?.ToString() ?? "?");
            return mux;
        });
        return services;
    }
}

internal static partial class RedisLog
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Redis connection to {Endpoint} failed: {Failure}; running from last known state")]
    public static partial void ConnectionFailed(ILogger logger, string endpoint, string failure);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Redis connection to {Endpoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string endpoint);
}
