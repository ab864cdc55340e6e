using System.Net;
using MaxMind.Db;

namespace Downloads.Redirector.Geo;

/// <summary>
/// One open MaxMind DB file with its lookup cache. Immutable once built: a reload builds a new one and
/// swaps it in, so lookups never see a half-loaded database.
/// </summary>
internal sealed class GeoDatabase<TRecord, TValue> : IGeoDatabase
    where TRecord : class
{
    private readonly Reader _reader;
    private readonly NetworkCache<TValue> _cache;
    private readonly Func<TRecord?, TValue> _project;
    private readonly TValue _unknown;
    private readonly bool _ipv4Only;

    private GeoDatabase(Reader reader, FileStamp stamp, int cacheSlots, Func<TRecord?, TValue> project, TValue unknown)
    {
        _reader = reader;
        Stamp = stamp;
        _cache = new NetworkCache<TValue>(cacheSlots);
        _project = project;
        _unknown = unknown;
        _ipv4Only = reader.Metadata.IPVersion == 4;
    }

    public FileStamp Stamp { get; }

    public Metadata Metadata => _reader.Metadata;

    /// <summary>
    /// Reads <paramref name="path"/> into memory. Not memory-mapped: a file overwritten in place (<c>cp</c>
    /// instead of a rename) would change or truncate the bytes under a mapped reader, and a read past a
    /// truncated mapping kills the process. A GeoLite2 City file costs ~60 MB per process this way.
    /// </summary>
    public static GeoDatabase<TRecord, TValue> Open(string path, int cacheSlots, Func<TRecord?, TValue> project, TValue unknown)
    {
        var stamp = FileStamp.Of(path);
        var reader = new Reader(path, FileAccessMode.Memory);
        return new GeoDatabase<TRecord, TValue>(reader, stamp, cacheSlots, project, unknown);
    }

    public TValue Lookup(in ClientKey key, IPAddress address)
    {
        if (_cache.TryGet(key, out var cached))
        {
            return cached;
        }

        if (_ipv4Only && !key.IsIPv4)
        {
            return _unknown;
        }

        TValue value;
        int prefix;
        try
        {
            value = _project(_reader.Find<TRecord>(key.ToLookupAddress(address), out prefix));
        }
        catch (Exception e) when (e is InvalidDatabaseException or DeserializationException)
        {
            // A damaged record must not fail the redirect; the client is just of unknown location.
            return _unknown;
        }

        _cache.Add(key, key.ToKeyPrefix(prefix), value);
        return value;
    }

    public void Dispose() => _reader.Dispose();
}

/// <summary>What the loader needs to know of an open database, whatever it decodes.</summary>
internal interface IGeoDatabase : IDisposable
{
    FileStamp Stamp { get; }

    Metadata Metadata { get; }
}

/// <summary>What identifies a version of a file on disk; a new version arrives by rename, so it changes.</summary>
internal readonly record struct FileStamp(DateTime LastWriteUtc, long Length)
{
    public static FileStamp Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(info.LastWriteTimeUtc, info.Length) : default;
    }
}
