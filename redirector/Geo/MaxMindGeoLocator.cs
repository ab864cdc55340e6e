using System.Net;
using Downloads.GeoData;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Geo;

/// <summary>
/// Locates clients with MaxMind City and ASN databases (GeoLite2/GeoIP2, or the generated samples).
/// Every distinct record is decoded when a file loads, so a lookup is a tree walk and a search by the
/// record's offset: no decoding and no allocation, even for an address never seen before.
/// The files are checked every <see cref="GeoOptions.ReloadInterval"/> and swapped in atomically when
/// they change; a file that fails to load leaves the previous version in service.
/// </summary>
internal sealed partial class MaxMindGeoLocator : IGeoLocator, IDisposable
{
    private readonly GeoOptions _options;
    private readonly string? _cityPath;
    private readonly string? _asnPath;
    private readonly ILogger<MaxMindGeoLocator> _log;
    private readonly ITimer? _timer;
    private readonly Lock _reloadLock = new();
    private Databases _current;

    public MaxMindGeoLocator(IOptions<GeoOptions> options, TimeProvider time, ILogger<MaxMindGeoLocator> log)
    {
        _options = options.Value;
        _log = log;
        (_cityPath, _asnPath) = (NullIfEmpty(_options.CityDatabase), NullIfEmpty(_options.AsnDatabase));
        if (_options.UseSampleDatabases)
        {
            // Deterministic content written by rename: processes sharing the folder cannot see a partial file.
            (_cityPath, _asnPath) = SampleGeoDatabases.WriteAll(Path.Combine(Path.GetTempPath(), "downloads-geo-samples"));
            UsingSamples(_log, Path.GetDirectoryName(_cityPath)!);
        }

        _current = new Databases(Load(_cityPath, null, OpenCity), Load(_asnPath, null, OpenAsn));
        if (_cityPath is null && _asnPath is null)
        {
            NoDatabases(_log);
            return;
        }

        _timer = time.CreateTimer(_ => Reload(), null, _options.ReloadInterval, _options.ReloadInterval);
    }

    public ClientLocation Locate(IPAddress address)
    {
        if (!ClientKey.TryCreate(address, out var key) || key.IsLocal)
        {
            return ClientLocation.Unknown;
        }

        var databases = Volatile.Read(ref _current);
        var location = databases.City is { } city ? city.Lookup(key) : ClientLocation.Unknown;
        var asn = databases.Asn is { } asnDatabase ? asnDatabase.Lookup(key) : 0;
        return asn == 0 ? location : location with { Asn = asn };
    }

    /// <summary>Checks the files now and swaps in any that changed (the timer calls this).</summary>
    public void Reload()
    {
        lock (_reloadLock)
        {
            Databases? old = _current;
            var next = new Databases(Load(_cityPath, old.City, OpenCity), Load(_asnPath, old.Asn, OpenAsn));
            if (ReferenceEquals(next.City, old.City) && ReferenceEquals(next.Asn, old.Asn))
            {
                return;
            }

            // A lookup in progress keeps the old version alive through its own reference; the GC frees it after.
            Volatile.Write(ref _current, next);
            old = null;
            // A new file is rare (weekly, from geoipupdate): hand the old one's tens of MB (its tree is native
            // memory, freed by a finalizer) and the load's garbage back to the OS now, as after a new manifest.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
    }

    private static GeoDatabase<ClientLocation> OpenCity(string path) =>
        GeoDatabase<ClientLocation>.Open(path, GeoRecords.City(), ClientLocation.Unknown);

    private static GeoDatabase<long> OpenAsn(string path) =>
        GeoDatabase<long>.Open(path, GeoRecords.Asn(), 0, deduplicate: false);

    /// <summary>Opens <paramref name="path"/> unless <paramref name="current"/> is already that version; on failure keeps <paramref name="current"/>.</summary>
    private T? Load<T>(string? path, T? current, Func<string, T> open)
        where T : class, IGeoDatabase
    {
        if (path is null)
        {
            return null;
        }

        var stamp = FileStamp.Of(path);
        if (current is not null && current.Stamp == stamp)
        {
            return current;
        }

        try
        {
            if (current is not null)
            {
                // A reload holds the new version beside the one serving: start it from a compacted heap, so the
                // peak is the steady state plus one database, not plus the heap slack of the hours before too.
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }

            var opened = open(path);
            Loaded(_log, path, opened.DatabaseType, opened.BuildDate);
            return opened;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            LoadFailed(_log, path, e.Message);
            return current;
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private sealed record Databases(GeoDatabase<ClientLocation>? City, GeoDatabase<long>? Asn);

    [LoggerMessage(EventId = RedirectorEvents.GeoLoaded, Level = LogLevel.Information, Message = "Geo database {Path} loaded ({Type}, built {Built:yyyy-MM-dd})")]
    private static partial void Loaded(ILogger logger, string path, string type, DateTime built);

    [LoggerMessage(EventId = RedirectorEvents.GeoLoadFailed, Level = LogLevel.Warning, Message = "Geo database {Path} could not be loaded, keeping the previous one if any: {Reason}")]
    private static partial void LoadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = RedirectorEvents.GeoUsingSamples, Level = LogLevel.Warning, Message = "Using generated sample geo databases in {Directory}: only the test networks are known (81.2.69.142 is London)")]
    private static partial void UsingSamples(ILogger logger, string directory);

    [LoggerMessage(EventId = RedirectorEvents.GeoNoDatabases, Level = LogLevel.Warning, Message = "No geo databases configured (Geo:CityDatabase, Geo:AsnDatabase): every client is of unknown location")]
    private static partial void NoDatabases(ILogger logger);
}
