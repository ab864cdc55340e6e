namespace Downloads.Redirector.Geo;

/// <summary>Decodes the record at <paramref name="offset"/> of a data section into what the redirector keeps of it.</summary>
internal delegate TValue GeoRecordDecoder<out TValue>(ReadOnlySpan<byte> data, int offset);

/// <summary>
/// One loaded MaxMind DB file, with every distinct record decoded once at load and the tree's data
/// pointers renumbered to the decoded values: a lookup is a tree walk that ends at its answer. No
/// decoding, no cache to fill, no allocation, whatever the address. Immutable once built: a reload
/// builds a new one and swaps it in, so lookups never see a half-loaded database.
/// </summary>
/// <remarks>
/// GeoLite2 City has millions of networks but far fewer records, and far fewer distinct locations
/// still (records differ in postal code, accuracy radius…): each distinct value is stored once. A record
/// that cannot be decoded means "unknown", not a failed request.
/// </remarks>
internal sealed class GeoDatabase<TValue> : IGeoDatabase
    where TValue : IEquatable<TValue>
{
    private readonly MmdbFile _file;
    private readonly TValue[] _values;
    private readonly TValue _unknown;

    private GeoDatabase(MmdbFile file, FileStamp stamp, GeoRecordDecoder<TValue> decode, TValue unknown)
    {
        _file = file;
        Stamp = stamp;
        _unknown = unknown;
        var offsets = DistinctRecordOffsets(file);
        var valueOf = new int[offsets.Length];
        var values = new List<TValue> { unknown };
        var index = new Dictionary<TValue, int> { [unknown] = 0 };
        var data = file.Data;
        for (var i = 0; i < offsets.Length; i++)
        {
            TValue value;
            try
            {
                value = decode(data, offsets[i]);
            }
            catch (Exception e) when (e is InvalidDataException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
            {
                DamagedRecords++;
                value = unknown;
            }

            if (!index.TryGetValue(value, out var slot))
            {
                slot = values.Count;
                values.Add(value);
                index.Add(value, slot);
            }

            valueOf[i] = slot;
        }

        _values = [.. values];
        RecordCount = offsets.Length;
        file.RenumberRecords(offset => valueOf[Array.BinarySearch(offsets, offset)]);
    }

    public FileStamp Stamp { get; }

    public string DatabaseType => _file.DatabaseType;

    public DateTime BuildDate => _file.BuildDate;

    /// <summary>Distinct records the tree points at.</summary>
    public int RecordCount { get; }

    /// <summary>Distinct decoded values (the unknown value included).</summary>
    public int ValueCount => _values.Length;

    /// <summary>Records that could not be decoded and answer "unknown".</summary>
    public int DamagedRecords { get; }

    /// <summary>Reads <paramref name="path"/> into memory and decodes its records; throws <see cref="InvalidDataException"/> for a file that is no MaxMind DB.</summary>
    public static GeoDatabase<TValue> Open(string path, GeoRecordDecoder<TValue> decode, TValue unknown)
    {
        var stamp = FileStamp.Of(path);
        return new GeoDatabase<TValue>(MmdbFile.Read(path), stamp, decode, unknown);
    }

    public TValue Lookup(in ClientKey key)
    {
        // The tree's data pointers were renumbered to indexes of _values at load.
        var i = _file.FindRecord(key);
        return (uint)i < (uint)_values.Length ? _values[i] : _unknown;
    }

    public void Dispose()
    {
        // Nothing to release: the file is an array the GC reclaims once no lookup holds this version.
    }

    /// <summary>The sorted, distinct data offsets the tree points at, found with a bitmap over the data section.</summary>
    private static int[] DistinctRecordOffsets(MmdbFile file)
    {
        var seen = new System.Collections.BitArray(file.Data.Length);
        var count = 0;
        file.ForEachRecordPointer(offset =>
        {
            if (!seen[offset])
            {
                seen[offset] = true;
                count++;
            }
        });

        var offsets = new int[count];
        var n = 0;
        for (var i = 0; i < seen.Length && n < count; i++)
        {
            if (seen[i])
            {
                offsets[n++] = i;
            }
        }

        return offsets;
    }
}

/// <summary>What the loader needs to know of an open database, whatever it decodes.</summary>
internal interface IGeoDatabase : IDisposable
{
    FileStamp Stamp { get; }

    string DatabaseType { get; }

    DateTime BuildDate { get; }
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
