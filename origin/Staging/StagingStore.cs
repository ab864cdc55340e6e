using Downloads.Contracts.Staging;
using Microsoft.Extensions.Options;

namespace Downloads.Origin.Staging;

/// <summary>The signed staging list the running origin serves; re-reads the pointer when asked, like the manifest.</summary>
public sealed class StagingStore(IOptions<OriginOptions> options)
{
    private readonly StagingFolder _folder = new(Path.GetFullPath(options.Value.StateDir));
    private readonly Lock _reload = new();
    private Served? _current;

    /// <summary>The served list: its bytes, signature and parsed form; null before the first one.</summary>
    public Served? Refresh()
    {
        var serial = _folder.ReadCurrentSerial();
        var current = Volatile.Read(ref _current);
        if (serial <= (current?.List.Serial ?? 0))
            return current;
        lock (_reload)
        {
            current = Volatile.Read(ref _current);
            if (serial <= (current?.List.Serial ?? 0) || _folder.LoadList(serial) is not { } loaded)
                return current;
            var list = StagingDefaults.TryParse(loaded.Bytes, out _);
            if (list is null)
                return current;
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in list.Staged)
                ids.Add(f.Id);
            current = new Served(list, loaded.Bytes, loaded.Signature, ids);
            Volatile.Write(ref _current, current);
            return current;
        }
    }

    /// <summary>The ciphertext file of a staged id, or null when the id is not staged (released ids are not served).</summary>
    public string? CipherPath(string id) =>
        StagingDefaults.IsValidId(id) && Refresh() is { } s && s.StagedIds.Contains(id) && File.Exists(_folder.CipherPath(id)) ? _folder.CipherPath(id) : null;

    /// <summary>One served list.</summary>
    public sealed record Served(StagingList List, byte[] Bytes, byte[] Signature, HashSet<string> StagedIds);
}
