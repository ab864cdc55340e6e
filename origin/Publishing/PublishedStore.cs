using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Origin.Publishing;

/// <summary>
/// The serial the running origin serves. <c>origin publish</c> may run as a separate process, so
/// the store re-reads the pointer file when asked (every manifest request, and a background poll);
/// reading it is one small file read.
/// </summary>
public sealed partial class PublishedStore(IOptions<OriginOptions> options, ILogger<PublishedStore> logger)
{
    private readonly StateFolder _folder = new(Path.GetFullPath(options.Value.StateDir));
    private readonly Lock _reload = new();
    private PublishedState? _current;

    /// <summary>The served state, or null before the first publication.</summary>
    public PublishedState? Current => Volatile.Read(ref _current);

    /// <summary>Absolute path of the published tree.</summary>
    public string Root { get; } = Path.GetFullPath(options.Value.Root);

    /// <summary>Switches to the serial the pointer names, if it is newer than the served one.</summary>
    public PublishedState? Refresh()
    {
        var serial = _folder.ReadCurrentSerial();
        var current = Current;
        if (serial <= (current?.Manifest.Serial ?? 0))
            return current;
        lock (_reload)
        {
            current = Current;
            if (serial <= (current?.Manifest.Serial ?? 0))
                return current;
            var loaded = _folder.Load(serial, out var error);
            if (loaded is null)
            {
                Log.LoadFailed(logger, serial, error ?? "unknown");
                return current;
            }
            Volatile.Write(ref _current, loaded);
            Log.Serving(logger, serial, loaded.Manifest.Files.Count);
            return loaded;
        }
    }

    /// <summary>Serves a state just published in this process.</summary>
    public void Use(PublishedState state)
    {
        lock (_reload)
        {
            if (state.Manifest.Serial > (Current?.Manifest.Serial ?? 0))
                Volatile.Write(ref _current, state);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = OriginEvents.Serving, Level = LogLevel.Information, Message = "Serving serial {Serial} ({Files} files)")]
        public static partial void Serving(ILogger logger, long serial, int files);

        [LoggerMessage(EventId = OriginEvents.LoadFailed, Level = LogLevel.Error, Message = "Cannot load published serial {Serial}: {Error}; still serving the previous one")]
        public static partial void LoadFailed(ILogger logger, long serial, string error);
    }
}
