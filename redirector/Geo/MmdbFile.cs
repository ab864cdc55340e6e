using System.Buffers.Binary;
using System.Text;

namespace Downloads.Redirector.Geo;

/// <summary>
/// A MaxMind DB file (GeoIP2/GeoLite2) held in memory: its metadata, and a search-tree walk from an
/// address to the offset of its record in the data section. The walk reads bytes only: no allocation,
/// no lock, no exception for a damaged tree (a record that points nowhere is "not found").
/// </summary>
/// <remarks>
/// The loader may renumber the tree's data pointers (<see cref="RenumberRecords"/>) so that the walk ends
/// at an index of its own table instead of an offset: the copy in memory is ours, the file is untouched.
/// IPv4 walks start from a table of the 65,536 nodes 16 bits below the IPv4 root, which saves the
/// upper half of every walk.
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
    private readonly int[] _ipv4Jump = new int[1 << 16];

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
        for (var prefix = 0; prefix < _ipv4Jump.Length; prefix++)
        {
            node = _ipv4Start;
            for (var i = 15; i >= 0 && node < _nodeCount; i--)
            {
                node = ReadRecord(node, (prefix >> i) & 1);
            }

            _ipv4Jump[prefix] = node;
        }
    }

    /// <summary>4 or 6: an IPv4 file knows no IPv6 address.</summary>
    public int IPVersion { get; }

    /// <summary>The <c>database_type</c> metadata, e.g. <c>GeoLite2-City</c>.</summary>
    public string DatabaseType { get; }

    /// <summary>When the file was built (<c>build_epoch</c>).</summary>
    public DateTime BuildDate { get; }

    /// <summary>Number of nodes of the search tree.</summary>
    public int NodeCount => _nodeCount;

    /// <summary>Where the data section starts in the file.</summary>
    public int DataStart => _dataStart;

    /// <summary>The data section: records at the offsets <see cref="FindRecord"/> returns.</summary>
    public ReadOnlySpan<byte> Data => _bytes.AsSpan(_dataStart, _dataLength);

    public static MmdbFile Read(string path) => new(File.ReadAllBytes(path));

    /// <summary>The data-section offset of the record for <paramref name="key"/>, or <see cref="NotFound"/>.</summary>
    public int FindRecord(in ClientKey key)
    {
        int node;
        if (key.IsIPv4)
        {
            var bits = key.IPv4;
            node = _ipv4Jump[bits >> 16];
            for (var i = 15; i >= 0 && node < _nodeCount; i--)
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
                var offset = (long)ReadRecord(node, side) - _nodeCount - 16;
                if (offset >= 0 && offset < _dataLength)
                {
                    visit((int)offset);
                }
            }
        }
    }

    /// <summary>
    /// Rewrites every data pointer of the tree in memory to <paramref name="renumber"/>(offset), so that
    /// <see cref="FindRecord"/> returns those numbers instead of offsets. Numbers must stay below the data
    /// section's length (any dense numbering of the distinct records does), so they fit every record size.
    /// </summary>
    public void RenumberRecords(Func<int, int> renumber)
    {
        for (var node = 0; node < _nodeCount; node++)
        {
            for (var side = 0; side < 2; side++)
            {
                var offset = (long)ReadRecord(node, side) - _nodeCount - 16;
                if (offset >= 0 && offset < _dataLength)
                {
                    var number = renumber((int)offset);
                    ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(number, _dataLength);
                    WriteRecord(node, side, _nodeCount + 16 + number);
                }
            }
        }

        for (var prefix = 0; prefix < _ipv4Jump.Length; prefix++)
        {
            var offset = (long)_ipv4Jump[prefix] - _nodeCount - 16;
            if (offset >= 0 && offset < _dataLength)
            {
                _ipv4Jump[prefix] = _nodeCount + 16 + renumber((int)offset);
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

    private void WriteRecord(int node, int side, int value)
    {
        var node7 = _bytes.AsSpan(node * _nodeBytes, _nodeBytes);
        switch (_recordSize)
        {
            case 24:
                var at = side * 3;
                (node7[at], node7[at + 1], node7[at + 2]) = ((byte)(value >> 16), (byte)(value >> 8), (byte)value);
                break;
            case 28:
                var low = side == 0 ? 0 : 4;
                (node7[low], node7[low + 1], node7[low + 2]) = ((byte)(value >> 16), (byte)(value >> 8), (byte)value);
                node7[3] = side == 0
                    ? (byte)((node7[3] & 0x0F) | ((value >> 20) & 0xF0))
                    : (byte)((node7[3] & 0xF0) | ((value >> 24) & 0x0F));
                break;
            default:
                BinaryPrimitives.WriteInt32BigEndian(node7[(side * 4)..], value);
                break;
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
