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

    private GeoDatabase(MmdbFile file, MmdbLayout layout, FileStamp stamp, TValue[] values, int records, int damaged, TValue unknown)
    {
        _file = file;
        Stamp = stamp;
        DatabaseType = layout.DatabaseType;
        BuildDate = layout.BuildDate;
        _values = values;
        RecordCount = records;
        DamagedRecords = damaged;
        _unknown = unknown;
    }

    public FileStamp Stamp { get; }

    public string DatabaseType { get; }

    public DateTime BuildDate { get; }

    /// <summary>Distinct records the tree points at.</summary>
    public int RecordCount { get; }

    /// <summary>Distinct decoded values (the unknown value included).</summary>
    public int ValueCount => _values.Length;

    /// <summary>Records that could not be decoded and answer "unknown".</summary>
    public int DamagedRecords { get; }

    /// <summary>
    /// Loads <paramref name="path"/>; throws <see cref="InvalidDataException"/> for a file that is no MaxMind DB.
    /// The tree is streamed once to find the distinct records, the data section is read and decoded and let
    /// go, and only then is the tree read to stay: the two are never held at once, which keeps the peak of
    /// a reload (while the previous version still serves) near one tree above the steady state.
    /// </summary>
    public static GeoDatabase<TValue> Open(string path, GeoRecordDecoder<TValue> decode, TValue unknown, bool deduplicate = true)
    {
        var stamp = FileStamp.Of(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var layout = MmdbLayout.Read(handle);
        var offsets = DistinctRecordOffsets(handle, layout);

        var (values, valueOf, damaged) = Decode(handle, layout, offsets, decode, unknown, deduplicate);
        var tree = new NativeBuffer(layout.TreeSize);
        try
        {
            MmdbLayout.ReadExactly(handle, tree.Span, 0);
        }
        catch
        {
            tree.Dispose();
            throw;
        }

        var file = new MmdbFile(tree, layout);
        file.RenumberRecords(offset => valueOf[Array.BinarySearch(offsets, offset)]);
        return new GeoDatabase<TValue>(file, layout, stamp, values, offsets.Length, damaged, unknown);
    }

    /// <summary>Decodes each distinct record once (equal values stored once when <paramref name="deduplicate"/>); the values and each record's value.</summary>
    private static (TValue[] Values, int[] ValueOf, int Damaged) Decode(
        Microsoft.Win32.SafeHandles.SafeFileHandle handle, MmdbLayout layout, int[] offsets, GeoRecordDecoder<TValue> decode, TValue unknown, bool deduplicate)
    {
        using var data = new NativeBuffer(layout.DataLength);
        MmdbLayout.ReadExactly(handle, data.Span, layout.DataOffset);
        var valueOf = new int[offsets.Length];
        var damaged = 0;
        if (!deduplicate)
        {
            // Values about as many as records (AS numbers): one per record, no table to build.
            var own = new TValue[offsets.Length + 1];
            own[0] = unknown;
            for (var i = 0; i < offsets.Length; i++)
            {
                own[i + 1] = DecodeOne(data.Span, offsets[i], ref damaged);
                valueOf[i] = i + 1;
            }

            return (own, valueOf, damaged);
        }

        // Sized once for one value per two records (GeoLite2 City has fewer): growing it would leave
        // its old arrays as tens of MB of garbage on top of the tree about to be read.
        var index = new Dictionary<TValue, int>(Math.Max(16, offsets.Length / 2)) { [unknown] = 0 };
        for (var i = 0; i < offsets.Length; i++)
        {
            var value = DecodeOne(data.Span, offsets[i], ref damaged);
            if (!index.TryGetValue(value, out var slot))
            {
                slot = index.Count;
                index.Add(value, slot);
            }

            valueOf[i] = slot;
        }

        var values = new TValue[index.Count];
        foreach (var (value, slot) in index)
        {
            values[slot] = value;
        }

        return (values, valueOf, damaged);

        TValue DecodeOne(ReadOnlySpan<byte> section, int offset, ref int damagedCount)
        {
            try
            {
                return decode(section, offset);
            }
            catch (Exception e) when (e is InvalidDataException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
            {
                damagedCount++;
                return unknown;
            }
        }
    }

    public TValue Lookup(in ClientKey key)
    {
        // The tree's data pointers were renumbered to indexes of _values at load.
        var i = _file.FindRecord(key);
        return (uint)i < (uint)_values.Length ? _values[i] : _unknown;
    }

    /// <summary>The sorted, distinct data offsets the tree points at: the tree streamed through a bitmap over the data section.</summary>
    private static int[] DistinctRecordOffsets(Microsoft.Win32.SafeHandles.SafeFileHandle handle, MmdbLayout layout)
    {
        var seen = new System.Collections.BitArray(layout.DataLength);
        var count = 0;
        var buffer = new byte[layout.NodeBytes * 65_536];
        for (long at = 0; at < layout.TreeSize; at += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, layout.TreeSize - at));
            MmdbLayout.ReadExactly(handle, chunk, at);
            MmdbFile.ForEachRecordPointer(chunk, layout, offset =>
            {
                if (!seen[offset])
                {
                    seen[offset] = true;
                    count++;
                }
            });
        }

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
internal interface IGeoDatabase
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
