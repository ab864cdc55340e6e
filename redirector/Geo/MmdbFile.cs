using System.Buffers.Binary;
using System.Text;

namespace Downloads.Redirector.Geo;

/// <summary>
/// A MaxMind DB file (GeoIP2/GeoLite2) held in memory: its metadata, and a search-tree walk from an
/// address to the offset of its record in the data section. The walk reads bytes only: no allocation,
/// no lock, no exception for a damaged tree (a record that points nowhere is "not found").
/// </summary>
/// <remarks>
/// Read whole, not memory-mapped: a file overwritten in place (<c>cp</c> instead of a rename) would change
/// or truncate the bytes under a mapped reader, and a read past a truncated mapping kills the process.
/// </remarks>
internal sealed class MmdbFile
{
    /// <summary>Returned by <see cref="FindRecord"/> when the address is in no network of the file.</summary>
    public const int NotFound = -1;

    private static readonly byte[] MetadataMarker = [0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8];
    private const int MetadataSearchWindow = 128 * 1024;

    private readonly byte[] _bytes;
    private readonly int _nodeCount;
    private readonly int _recordSize;
    private readonly int _nodeBytes;
    private readonly int _dataStart;
    private readonly int _dataLength;
    private readonly int _ipv4Start;

    public MmdbFile(byte[] bytes)
    {
        _bytes = bytes;
        var markerAt = FindMetadata(bytes);
        var metadata = bytes.AsSpan(markerAt + MetadataMarker.Length);
        _nodeCount = checked((int)RequireUnsigned(metadata, "node_count"u8));
        _recordSize = (int)RequireUnsigned(metadata, "record_size"u8);
        var ipVersion = (int)RequireUnsigned(metadata, "ip_version"u8);
        if (_recordSize is not (24 or 28 or 32) || ipVersion is not (4 or 6))
        {
            throw new InvalidDataException($"Unsupported MaxMind DB layout: record size {_recordSize}, IP version {ipVersion}.");
        }

        _nodeBytes = _recordSize / 4;
        var treeSize = (long)_nodeCount * _nodeBytes;
        if (treeSize + 16 > markerAt)
        {
            throw new InvalidDataException($"The search tree ({_nodeCount} nodes) is larger than the file.");
        }

        _dataStart = (int)treeSize + 16;
        _dataLength = markerAt - _dataStart;
        IPVersion = ipVersion;
        DatabaseType = Encoding.UTF8.GetString(MmdbData.ReadUtf8(metadata, Value(metadata, "database_type"u8)));
        BuildDate = DateTime.UnixEpoch.AddSeconds(MmdbData.TryGetMapValue(metadata, 0, "build_epoch"u8, out var epoch)
            ? (double)(MmdbData.ReadUnsigned(metadata, epoch) ?? 0) : 0);

        // IPv4 addresses in an IPv6 tree live under ::/96; walk there once.
        var node = 0;
        for (var i = 0; i < 96 && ipVersion == 6 && node < _nodeCount; i++)
        {
            node = ReadRecord(node, 0);
        }

        _ipv4Start = ipVersion == 6 ? node : 0;
    }

    /// <summary>4 or 6: an IPv4 file knows no IPv6 address.</summary>
    public int IPVersion { get; }

    /// <summary>The <c>database_type</c> metadata, e.g. <c>GeoLite2-City</c>.</summary>
    public string DatabaseType { get; }

    /// <summary>When the file was built (<c>build_epoch</c>).</summary>
    public DateTime BuildDate { get; }

    /// <summary>Number of nodes of the search tree.</summary>
    public int NodeCount => _nodeCount;

    /// <summary>The data section: records at the offsets <see cref="FindRecord"/> returns.</summary>
    public ReadOnlySpan<byte> Data => _bytes.AsSpan(_dataStart, _dataLength);

    public static MmdbFile Read(string path) => new(File.ReadAllBytes(path));

    /// <summary>The data-section offset of the record for <paramref name="key"/>, or <see cref="NotFound"/>.</summary>
    public int FindRecord(in ClientKey key)
    {
        int node;
        if (key.IsIPv4)
        {
            node = _ipv4Start;
            var bits = key.IPv4;
            for (var i = 31; i >= 0 && node < _nodeCount; i--)
            {
                node = ReadRecord(node, (int)(bits >> i) & 1);
            }
        }
        else
        {
            if (IPVersion == 4)
            {
                return NotFound;
            }

            node = 0;
            var high = (ulong)(key.Bits >> 64);
            var low = (ulong)key.Bits;
            for (var i = 63; i >= 0 && node < _nodeCount; i--)
            {
                node = ReadRecord(node, (int)(high >> i) & 1);
            }

            for (var i = 63; i >= 0 && node < _nodeCount; i--)
            {
                node = ReadRecord(node, (int)(low >> i) & 1);
            }
        }

        // Past the nodes: nodeCount itself is "no data", above it the record is at (value - nodeCount - 16).
        var offset = (long)node - _nodeCount - 16;
        return offset >= 0 && offset < _dataLength ? (int)offset : NotFound;
    }

    /// <summary>Calls <paramref name="visit"/> with every record offset any node points at (repeats included).</summary>
    public void ForEachRecordPointer(Action<int> visit)
    {
        for (var node = 0; node < _nodeCount; node++)
        {
            for (var side = 0; side < 2; side++)
            {
                var value = (long)ReadRecord(node, side);
                var offset = value - _nodeCount - 16;
                if (value > _nodeCount && offset >= 0 && offset < _dataLength)
                {
                    visit((int)offset);
                }
            }
        }
    }

    /// <summary>The left (0) or right (1) record of a node below <see cref="NodeCount"/> (inside the tree, checked at load).</summary>
    private int ReadRecord(int node, int side)
    {
        var bytes = _bytes;
        var i = node * _nodeBytes;
        switch (_recordSize)
        {
            case 24:
                i += side * 3;
                return (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
            case 28:
                // | left 23..0 | left 27..24, right 27..24 | right 23..0 |
                var middle = bytes[i + 3];
                if (side == 0)
                {
                    return ((middle & 0xF0) << 20) | (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
                }

                return ((middle & 0x0F) << 24) | (bytes[i + 4] << 16) | (bytes[i + 5] << 8) | bytes[i + 6];
            default:
                var value = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(i + (side * 4), 4));
                // Beyond int range no offset can be inside a file we could hold: treat as "no data".
                return value > int.MaxValue ? _nodeCount : (int)value;
        }
    }

    private static int FindMetadata(byte[] bytes)
    {
        var windowStart = Math.Max(0, bytes.Length - MetadataSearchWindow);
        var at = bytes.AsSpan(windowStart).LastIndexOf(MetadataMarker);
        return at < 0
            ? throw new InvalidDataException("Not a MaxMind DB file: no metadata marker.")
            : windowStart + at;
    }

    private static int Value(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> key) =>
        MmdbData.TryGetMapValue(metadata, 0, key, out var offset)
            ? offset
            : throw new InvalidDataException($"MaxMind DB metadata lacks '{Encoding.UTF8.GetString(key)}'.");

    private static ulong RequireUnsigned(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> key) =>
        MmdbData.ReadUnsigned(metadata, Value(metadata, key))
            ?? throw new InvalidDataException($"MaxMind DB metadata '{Encoding.UTF8.GetString(key)}' is not a number.");
}
