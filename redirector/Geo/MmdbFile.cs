using System.Buffers.Binary;

namespace Downloads.Redirector.Geo;

/// <summary>
/// The search tree of a MaxMind DB file (GeoIP2/GeoLite2) in memory, and the walk from an address to its
/// record. The walk reads bytes only: no allocation, no lock, no exception for a damaged tree (a record
/// that points nowhere is "not found").
/// </summary>
/// <remarks>
/// The loader renumbers the tree's data pointers (<see cref="RenumberRecords"/>) so that the walk ends at an
/// index of its own table of decoded values: the data section is not kept, and the copy in memory is ours,
/// the file untouched. Read, not memory-mapped: a file overwritten in place (<c>cp</c> instead of a rename)
/// would change or truncate the bytes under a mapped reader, and a read past a truncated mapping kills the
/// process. IPv4 walks start from a table of the 65,536 nodes 16 bits below the IPv4 root, which saves the
/// upper half of every walk.
/// </remarks>
internal sealed unsafe class MmdbFile
{
    /// <summary>Returned by <see cref="FindRecord"/> when the address is in no network of the file.</summary>
    public const int NotFound = -1;

    private readonly NativeBuffer _tree;
    private readonly byte* _nodes;
    private readonly int _nodeCount;
    private readonly int _recordSize;
    private readonly int _nodeBytes;
    private readonly int _dataLength;
    private readonly int _ipVersion;
    private readonly int[] _ipv4Jump = new int[1 << 16];

    /// <param name="tree">The first <see cref="MmdbLayout.TreeSize"/> bytes of the file; owned (freed with this object) from now on.</param>
    /// <param name="layout">The file's metadata.</param>
    public MmdbFile(NativeBuffer tree, MmdbLayout layout)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(tree.Length, layout.TreeSize);
        _tree = tree;
        _nodes = tree.Pointer;
        _nodeCount = layout.NodeCount;
        _recordSize = layout.RecordSize;
        _nodeBytes = layout.NodeBytes;
        _dataLength = layout.DataLength;
        _ipVersion = layout.IPVersion;

        // IPv4 addresses in an IPv6 tree live under ::/96; walk there once, then 16 bits further for each prefix.
        var ipv4Start = 0;
        for (var i = 0; i < 96 && _ipVersion == 6 && ipv4Start < _nodeCount; i++)
        {
            ipv4Start = ReadRecord(ipv4Start, 0);
        }

        for (var prefix = 0; prefix < _ipv4Jump.Length; prefix++)
        {
            var node = ipv4Start;
            for (var i = 15; i >= 0 && node < _nodeCount; i--)
            {
                node = ReadRecord(node, (prefix >> i) & 1);
            }

            _ipv4Jump[prefix] = node;
        }
    }

    /// <summary>The data-section offset (or, once renumbered, the number) of the record for <paramref name="key"/>; else <see cref="NotFound"/>.</summary>
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
            if (_ipVersion == 4)
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

        // The tree's memory is freed by _tree's finalizer once this object is unreachable: not before here.
        GC.KeepAlive(this);

        // Past the nodes: nodeCount itself is "no data", above it the record is at (value - nodeCount - 16).
        var offset = (long)node - _nodeCount - 16;
        return offset >= 0 && offset < _dataLength ? (int)offset : NotFound;
    }

    /// <summary>
    /// Calls <paramref name="visit"/> with the data offset of every record pointer (repeats included) in
    /// <paramref name="nodes"/>, whole nodes of a tree of <paramref name="layout"/>: the loader streams the
    /// tree through this before it holds it.
    /// </summary>
    public static void ForEachRecordPointer(ReadOnlySpan<byte> nodes, MmdbLayout layout, Action<int> visit)
    {
        var nodeBytes = layout.NodeBytes;
        for (var at = 0; at + nodeBytes <= nodes.Length; at += nodeBytes)
        {
            for (var side = 0; side < 2; side++)
            {
                var offset = (long)ReadRecord(nodes.Slice(at, nodeBytes), layout.RecordSize, side) - layout.NodeCount - 16;
                if (offset >= 0 && offset < layout.DataLength)
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

    /// <summary>The left (0) or right (1) record of a node below the node count: inside the tree, so no bounds check.</summary>
    private int ReadRecord(int node, int side)
    {
        var bytes = _nodes;
        var i = (nint)node * _nodeBytes;
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
                var value = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(bytes + i + (side * 4), 4));
                // Beyond int range no offset can be inside a file we could hold: treat as "no data".
                return value > int.MaxValue ? _nodeCount : (int)value;
        }
    }

    private static long ReadRecord(ReadOnlySpan<byte> node, int recordSize, int side) => recordSize switch
    {
        24 => side == 0 ? ReadUInt24(node) : ReadUInt24(node[3..]),
        28 => side == 0 ? ((node[3] & 0xF0L) << 20) | ReadUInt24(node) : ((node[3] & 0x0FL) << 24) | ReadUInt24(node[4..]),
        _ => BinaryPrimitives.ReadUInt32BigEndian(node[(side * 4)..]),
    };

    private static long ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];

    private void WriteRecord(int node, int side, int value)
    {
        var bytes = _tree.Span.Slice(node * _nodeBytes, _nodeBytes);
        switch (_recordSize)
        {
            case 24:
                var at = side * 3;
                (bytes[at], bytes[at + 1], bytes[at + 2]) = ((byte)(value >> 16), (byte)(value >> 8), (byte)value);
                break;
            case 28:
                var low = side == 0 ? 0 : 4;
                (bytes[low], bytes[low + 1], bytes[low + 2]) = ((byte)(value >> 16), (byte)(value >> 8), (byte)value);
                bytes[3] = side == 0
                    ? (byte)((bytes[3] & 0x0F) | ((value >> 20) & 0xF0))
                    : (byte)((bytes[3] & 0xF0) | ((value >> 24) & 0x0F));
                break;
            default:
                BinaryPrimitives.WriteInt32BigEndian(bytes[(side * 4)..], value);
                break;
        }
    }
}
