using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Downloads.Redirector.Geo;

/// <summary>
/// Where the parts of a MaxMind DB file are, from its metadata: the search tree (node count × record
/// size), the data section after it, and what the file says of itself.
/// </summary>
internal sealed record MmdbLayout(int NodeCount, int RecordSize, int IPVersion, string DatabaseType, DateTime BuildDate, long DataOffset, int DataLength)
{
    private static readonly byte[] MetadataMarker = [0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8];
    private const int MetadataSearchWindow = 128 * 1024;

    /// <summary>Bytes per node: two records.</summary>
    public int NodeBytes => RecordSize / 4;

    /// <summary>Bytes of the search tree, from the start of the file.</summary>
    public long TreeSize => (long)NodeCount * NodeBytes;

    /// <summary>Reads the metadata of the file at <paramref name="path"/>.</summary>
    public static MmdbLayout Read(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        return Read(file);
    }

    /// <summary>Reads the metadata at the end of an open file; throws <see cref="InvalidDataException"/> for anything but a MaxMind DB.</summary>
    public static MmdbLayout Read(SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        if (length > int.MaxValue)
        {
            throw new InvalidDataException("A MaxMind DB file over 2 GB is not supported.");
        }

        var tail = new byte[(int)Math.Min(length, MetadataSearchWindow)];
        ReadExactly(file, tail, length - tail.Length);
        var at = tail.AsSpan().LastIndexOf(MetadataMarker);
        if (at < 0)
        {
            throw new InvalidDataException("Not a MaxMind DB file: no metadata marker.");
        }

        var metadata = tail.AsSpan(at + MetadataMarker.Length);
        var nodeCount = RequireUnsigned(metadata, "node_count"u8);
        var recordSize = RequireUnsigned(metadata, "record_size"u8);
        var ipVersion = RequireUnsigned(metadata, "ip_version"u8);
        if (recordSize is not (24 or 28 or 32) || ipVersion is not (4 or 6) || nodeCount > int.MaxValue / 8)
        {
            throw new InvalidDataException($"Unsupported MaxMind DB layout: {nodeCount} nodes, record size {recordSize}, IP version {ipVersion}.");
        }

        var dataOffset = ((long)nodeCount * (long)(recordSize / 4)) + 16;
        var dataEnd = length - tail.Length + at;
        if (dataOffset > dataEnd)
        {
            throw new InvalidDataException($"The search tree ({nodeCount} nodes) is larger than the file.");
        }

        var type = Encoding.UTF8.GetString(MmdbData.ReadUtf8(metadata, Value(metadata, "database_type"u8)));
        var built = DateTime.UnixEpoch.AddSeconds(MmdbData.TryGetMapValue(metadata, 0, "build_epoch"u8, out var epoch)
            ? (double)Math.Min(MmdbData.ReadUnsigned(metadata, epoch) ?? 0, 253_402_300_799UL) : 0);
        return new MmdbLayout((int)nodeCount, (int)recordSize, (int)ipVersion, type, built, dataOffset, (int)(dataEnd - dataOffset));
    }

    /// <summary>Reads <paramref name="into"/>.Length bytes at <paramref name="offset"/>, or throws if the file is shorter.</summary>
    public static void ReadExactly(SafeFileHandle file, Span<byte> into, long offset)
    {
        var done = 0;
        while (done < into.Length)
        {
            var read = RandomAccess.Read(file, into[done..], offset + done);
            if (read == 0)
            {
                throw new InvalidDataException("The file ended early (it changed while being read?).");
            }

            done += read;
        }
    }

    private static int Value(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> key) =>
        MmdbData.TryGetMapValue(metadata, 0, key, out var offset)
            ? offset
            : throw new InvalidDataException($"MaxMind DB metadata lacks '{Encoding.UTF8.GetString(key)}'.");

    private static ulong RequireUnsigned(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> key) =>
        MmdbData.ReadUnsigned(metadata, Value(metadata, key))
            ?? throw new InvalidDataException($"MaxMind DB metadata '{Encoding.UTF8.GetString(key)}' is not a number.");
}
