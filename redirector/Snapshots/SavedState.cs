using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Mirrors;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// The redirector's last good state in <see cref="RedirectorOptions.StateDir"/> (issue #15 §7, §10; docs/reliability.md):
/// <list type="bullet">
/// <item><c>state.json</c>: the highest manifest serial ever accepted and the mirror table routed by (the approved
/// records with their last live figures);</item>
/// <item><c>manifest.signed</c>: the signature line, then the signed manifest exactly as the origin served it.</item>
/// </list>
/// Each file is replaced whole (<see cref="AtomicFile"/>). At start <see cref="SnapshotRefresher"/> routes from them
/// until Redis and the origin answer: a restart while either is down still sends clients to mirrors, and no older
/// signed manifest is accepted after a restart. What is read back is checked as if it came from outside: the manifest
/// against the pinned keys, every record with the rules of <see cref="MirrorInfoValidation"/>; a file that fails is
/// not used (one log line naming it). <see cref="RoutingFromSaved"/> is what <c>Health/SavedStateDegradation</c> reports.
/// </summary>
internal sealed partial class SavedState
{
    private const string StateFile = "state.json";
    private const string ManifestFile = "manifest.signed";
    private const long MaxStateBytes = 256L << 20;
    private const int MaxText = MirrorInfoValidation.MaxValueLength;
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string? _dir;
    private readonly RedirectorOptions _options;
    private readonly ILogger<SavedState> _log;
    private volatile bool _routingFromSaved;

    public SavedState(IOptions<RedirectorOptions> options, ILogger<SavedState> log)
    {
        _options = options.Value;
        _log = log;
        _dir = _options.StateDir.Length == 0 ? null : Path.GetFullPath(_options.StateDir);
    }

    /// <summary>Whether a folder is configured.</summary>
    public bool Enabled => _dir is not null;

    /// <summary>The highest serial ever accepted, as last written (0 when none).</summary>
    public long HighestSerial { get; private set; }

    /// <summary>True while the mirror table routed by was read from the file (set by the refresher).</summary>
    public bool RoutingFromSaved { get => _routingFromSaved; set => _routingFromSaved = value; }

    /// <summary>What the files held: the highest serial, the mirror table (null when absent or refused), the signed manifest (null likewise).</summary>
    public readonly record struct Loaded(long HighestSerial, MirrorRecord[]? Mirrors, byte[]? Manifest, string? Signature);

    /// <summary>Reads both files; never throws: a missing, unreadable or invalid file reads as absent (and is logged).</summary>
    public Loaded Load()
    {
        if (_dir is null)
        {
            LogDirUnset(_log);
            return default;
        }
        long highest = 0;
        MirrorRecord[]? mirrors = null;
        var statePath = Path.Combine(_dir, StateFile);
        if (File.Exists(statePath))
        {
            try
            {
                var doc = Read(statePath, MaxStateBytes) is { } bytes ? JsonSerializer.Deserialize(bytes, SavedStateJson.Default.StateDocument) : null;
                if (Problem(doc) is { } problem)
                    LogRefused(_log, statePath, problem);
                else
                    (highest, mirrors) = (doc!.HighestSerial, Sorted(doc.Mirrors!));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
            {
                LogRefused(_log, statePath, ex.Message);
            }
        }
        byte[]? manifest = null;
        string? signature = null;
        var manifestPath = Path.Combine(_dir, ManifestFile);
        if (File.Exists(manifestPath))
        {
            try
            {
                var bytes = Read(manifestPath, _options.MaxManifestBytes + 1024);
                var newline = bytes is null ? -1 : Array.IndexOf(bytes, (byte)'\n');
                if (bytes is null || newline is < 1 or > 1024)
                    LogRefused(_log, manifestPath, "not a signature line followed by a manifest");
                else
                    (signature, manifest) = (Encoding.ASCII.GetString(bytes, 0, newline), bytes[(newline + 1)..]);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogRefused(_log, manifestPath, ex.Message);
            }
        }
        HighestSerial = highest;
        return new Loaded(highest, mirrors, manifest, signature);
    }

    /// <summary>Writes the mirror table and the highest serial; a failure is logged and changes nothing in memory.</summary>
    public async Task SaveAsync(long highestSerial, IReadOnlyList<MirrorRecord> mirrors, CancellationToken cancellationToken)
    {
        if (_dir is null)
            return;
        var doc = new StateDocument { Version = 1, HighestSerial = highestSerial, Mirrors = [.. mirrors] };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(doc, SavedStateJson.Default.StateDocument);
        if (await TryWriteAsync(StateFile, [bytes], cancellationToken))
            HighestSerial = highestSerial;
    }

    /// <summary>Writes the signed manifest as served (signature line, then the document).</summary>
    public Task SaveManifestAsync(byte[] manifest, string signature, CancellationToken cancellationToken) =>
        _dir is null ? Task.CompletedTask : TryWriteAsync(ManifestFile, [Encoding.ASCII.GetBytes(signature.Trim() + "\n"), manifest], cancellationToken);

    private async Task<bool> TryWriteAsync(string name, IReadOnlyList<ReadOnlyMemory<byte>> parts, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_dir!, name);
        try
        {
            if (!Directory.Exists(_dir))
            {
                if (OperatingSystem.IsWindows())
                    Directory.CreateDirectory(_dir!);
                else
                    Directory.CreateDirectory(_dir!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            await AtomicFile.WriteAllBytesAsync(path, parts, Private, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(_log, path, ex.Message);
            return false;
        }
    }

    private static byte[]? Read(string path, long max)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > max)
            return null;
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static MirrorRecord[] Sorted(MirrorRecord[] mirrors)
    {
        Array.Sort(mirrors, static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return mirrors;
    }

    /// <summary>Why a state document may not be used, or null: every record must be one Redis could have given us.</summary>
    internal static string? Problem(StateDocument? doc)
    {
        if (doc is null || doc.Version != 1 || doc.Mirrors is null)
            return "not a version 1 state document";
        if (doc.HighestSerial < 0)
            return "negative serial";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in doc.Mirrors)
        {
            if (m is null || !MirrorIds.IsValid(m.Id) || !ids.Add(m.Id))
                return "a mirror id is missing, invalid or repeated";
            if (RecordProblem(m) is { } problem)
                return $"mirror {m.Id}: {problem}";
        }
        return null;
    }

    private static string? RecordProblem(MirrorRecord m)
    {
        if (!Url(m.HttpUrl, "http") || !Url(m.HttpsUrl, "https"))
            return "bad URL";
        if (m.Country.Length > 0 && !MirrorInfoValidation.IsCountry(m.Country))
            return "bad country";
        if (m.Continent.Length > 0 && !MirrorInfoValidation.Continents.Contains(m.Continent))
            return "bad continent";
        if (!(double.IsNaN(m.Latitude) || m.Latitude is >= -90 and <= 90) || !(double.IsNaN(m.Longitude) || m.Longitude is >= -180 and <= 180))
            return "bad coordinates";
        if (m.Sets is null || m.Sets.Any(s => s is null || !MirrorInfoValidation.IsSetName(s)))
            return "bad set name";
        if (!Count(m.CapacityMbps) || !Count(m.Weight) || !Count(m.RateBps)
            || m.Asn < 0 || m.QuotaBytes < 0 || m.Serial < 0 || m.MonthBytes < 0 || m.BytesServed < 0 || m.Requests < 0 || m.Connections < 0)
            return "bad number";
        if (!Enum.IsDefined(m.Scope) || !Enum.IsDefined(m.Status))
            return "bad scope or status";
        if (Text(m.Name) || Text(m.PublicKey) || Text(m.LastError) || Text(m.HealthReason) || Text(m.RecordProblem) || m.PendingChange is not null)
            return "bad text field";
        return null;

        static bool Url(string value, string scheme) =>
            value is not null && (value.Length == 0 || (MirrorInfoValidation.TryNormalizeUrl(value, scheme, out var normal) && normal == value));
        static bool Count(double value) => double.IsFinite(value) && value >= 0;
        static bool Text(string? value) => value is null || value.Length > MaxText;
    }

    [LoggerMessage(EventId = RedirectorEvents.StateDirUnset, Level = LogLevel.Warning, Message = "Redirector:StateDir is not set: nothing is kept across restarts, so a restart while Redis is down starts with no mirror (every client to the origin) and accepts any older signed manifest")]
    private static partial void LogDirUnset(ILogger logger);

    [LoggerMessage(EventId = RedirectorEvents.StateRefused, Level = LogLevel.Warning, Message = "Saved state {Path} not used: {Reason}")]
    private static partial void LogRefused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = RedirectorEvents.StateSaveFailed, Level = LogLevel.Warning, Message = "Could not save the last good state to {Path}: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string path, string reason);

    /// <summary>The document in <c>state.json</c>.</summary>
    internal sealed class StateDocument
    {
        public int Version { get; set; }

        public long HighestSerial { get; set; }

        public MirrorRecord[]? Mirrors { get; set; }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SavedState.StateDocument))]
internal sealed partial class SavedStateJson : JsonSerializerContext;
