using System.Collections.Frozen;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NSec.Cryptography;
using StackExchange.Redis;

namespace Downloads.Contracts.Identity;

/// <summary>
/// The public keys of approved mirrors, read from Redis (the <see cref="Keyspace.ConfigFields.PublicKey"/> that ops'
/// approval wrote) every <see cref="Interval"/> into an immutable snapshot that request verification reads
/// without a lock. A mirror that is pending, disabled or removed has no key here. While Redis cannot answer,
/// the last snapshot stays.
/// </summary>
public sealed partial class MirrorKeyDirectory(IConnectionMultiplexer redis, TimeProvider time, ILogger<MirrorKeyDirectory> log) : BackgroundService
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private static readonly RedisValue[] Fields = [Keyspace.ConfigFields.Status, Keyspace.ConfigFields.Enabled, Keyspace.ConfigFields.PublicKey];
    private FrozenDictionary<string, PublicKey> _keys = FrozenDictionary<string, PublicKey>.Empty;
    private FrozenDictionary<string, string> _base64 = FrozenDictionary<string, string>.Empty;

    /// <summary>How often the keys are re-read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <summary>Mirrors with a key now.</summary>
    public int Count => Volatile.Read(ref _keys).Count;

    /// <summary>The approved public key of <paramref name="mirrorId"/>, or null.</summary>
    public PublicKey? Find(string mirrorId) => Volatile.Read(ref _keys).GetValueOrDefault(mirrorId);

    /// <summary>Every approved key now, base64 by mirror id (a new instance after each change; <see cref="MirrorKeyList"/>).</summary>
    public IReadOnlyDictionary<string, string> PublicKeys => Volatile.Read(ref _base64);

    /// <summary>Reads every mirror's key once (also called by the loop).</summary>
    public async Task RefreshAsync()
    {
        var db = redis.GetDatabase();
        var ids = await db.SetMembersAsync(Keyspace.Mirrors).ConfigureAwait(false);
        var batch = db.CreateBatch();
        var reads = new List<(string Id, Task<RedisValue[]> Fields)>(ids.Length);
        foreach (var value in ids)
        {
            var id = value.ToString();
            if (MirrorIds.IsValid(id))
                reads.Add((id, batch.HashGetAsync(Keyspace.MirrorConfig(id), Fields)));
        }
        batch.Execute();
        var keys = new Dictionary<string, PublicKey>(reads.Count, StringComparer.Ordinal);
        var base64 = new Dictionary<string, string>(reads.Count, StringComparer.Ordinal);
        foreach (var (id, read) in reads)
        {
            var f = await read.ConfigureAwait(false);
            if (f[0] != "approved" || f[1] == "0" || f[2].IsNullOrEmpty)
                continue;
            if (TryParse(f[2].ToString()) is { } key)
                (keys[id], base64[id]) = (key, f[2].ToString());
            else
                LogBadKey(log, id);
        }
        Volatile.Write(ref _keys, keys.ToFrozenDictionary(StringComparer.Ordinal));
        if (!base64.OrderBy(k => k.Key, StringComparer.Ordinal).SequenceEqual(_base64.OrderBy(k => k.Key, StringComparer.Ordinal)))
            Volatile.Write(ref _base64, base64.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>A raw 32-byte Ed25519 public key in base64, exactly, or null.</summary>
    public static PublicKey? TryParse(string base64)
    {
        Span<byte> raw = stackalloc byte[33];
        if (base64.Length != 44 || !Convert.TryFromBase64String(base64, raw, out var n) || n != 32)
            return null;
        return PublicKey.TryImport(Algorithm, raw[..32], KeyBlobFormat.RawPublicKey, out var key) ? key : null;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await RefreshAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRefreshFailed(log, Count, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "Mirror {Id} has an approved public key that is not a base64 Ed25519 key; its requests are treated as unsigned")]
    private static partial void LogBadKey(ILogger logger, string id);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Could not read mirror public keys from Redis; keeping the last {Count}: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, int count, string reason);
}
