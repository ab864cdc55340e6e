using System.Globalization;
using Downloads.Contracts.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Downloads.Origin.Publishing;

/// <summary>Announces a new serial on <see cref="Keyspace.Announce"/> so mirrors start syncing at once; mirrors poll when it is lost.</summary>
public static partial class Announcer
{
    /// <summary>Publishes the serial; logs and returns false when Redis is unreachable.</summary>
    public static async Task<bool> AnnounceAsync(IConnectionMultiplexer redis, long serial, ILogger logger)
    {
        try
        {
            var receivers = await redis.GetSubscriber().PublishAsync(Keyspace.Announce, serial.ToString(CultureInfo.InvariantCulture));
            Log.Announced(logger, serial, receivers);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.NotAnnounced(logger, serial, ex.Message);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = OriginEvents.Announced, Level = LogLevel.Information, Message = "Announced serial {Serial} to {Receivers} subscribers")]
        public static partial void Announced(ILogger logger, long serial, long receivers);

        [LoggerMessage(EventId = OriginEvents.NotAnnounced, Level = LogLevel.Warning, Message = "Could not announce serial {Serial} ({Reason}); mirrors will find it by polling")]
        public static partial void NotAnnounced(ILogger logger, long serial, string reason);
    }
}
