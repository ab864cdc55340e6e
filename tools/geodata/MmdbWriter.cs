using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Downloads.GeoData;

/// <summary>
/// Writes MaxMind DB (format 2.0) files: the format of GeoIP2/GeoLite2, read by <c>MaxMind.Db</c> and
/// <c>MaxMind.GeoIP2</c>. Used to generate small sample databases for <c>./run.sh</c> and the tests, and
/// large synthetic ones for benchmarks; production points at MaxMind's own files.
/// </summary>
/// <remarks>
/// The tree is always IPv6 (<c>ip_version</c> 6). IPv4 networks live under <c>::/96</c>, and, as in
/// MaxMind's databases, <c>::ffff:0:0/96</c> (IPv4-mapped) and <c>2002::/16</c> (6to4) point at that
/// IPv4 subtree, so either spelling of an IPv4 address finds the same record. Identical records, and
/// identical values inside records, are stored once (<see cref="MmdbDataSection"/>). A later
/// <see cref="Insert(IPNetwork, object)"/> wins where networks overlap.
/// </remarks>
public sealed class MmdbWriter
{
    // Slot encoding while building: >= 0 is a node index, Empty is no data, <= DataBase is a record's data offset.
    private const int Empty = -1;
    private const int DataBase = -2;

    private static readonly byte[] MetadataMarker = [0xAB, 0xCD, 0xEF, .. Encoding.ASCII.GetBytes("MaxMind.com")];

    private readonly List<int> _left = [];
    private readonly List<int> _right = [];
    private readonly MmdbDataSection _data = new();
    private readonly HashSet<int> _records = [];
    private int _ipv4Root = -1;

    /// <summary>Creates an empty database of the given type (e.g. <c>GeoLite2-City</c>; GeoIP2's reader checks it).</summary>
    public MmdbWriter(string databaseType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseType);
        DatabaseType = databaseType;
        NewNode();
    }

    /// <summary>The <c>database_type</c> metadata value.</summary>
    public string DatabaseType { get; }

    /// <summary>The <c>build_epoch</c>; fixed by default so that the same input gives the same bytes.</summary>
    public DateTimeOffset BuildTime { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The <c>languages</c> metadata value.</summary>
    public IReadOnlyList<string> Languages { get; set; } = ["en"];

    /// <summary>The <c>description</c> metadata value, language → text.</summary>
    public IReadOnlyDictionary<string, string> Description { get; set; } = new Dictionary<string, string>();

    /// <summary>
    /// Record size in bits (24, 28 or 32); null picks the smallest that addresses the whole file. Forcing a
    /// larger size lets tests cover every node layout with a small database.
    /// </summary>
    public int? RecordSize { get; set; }

    /// <summary>Number of distinct records inserted so far.</summary>
    public int RecordCount => _records.Count;

    /// <summary>Maps every address of <paramref name="network"/> to <paramref name="record"/> (see <see cref="MmdbDataEncoder"/> for types).</summary>
    public void Insert(IPNetwork network, object record) => Insert(network, AddRecord(record));

    /// <summary>
    /// Stores <paramref name="record"/> (once, however often it is added) and returns a handle for
    /// <see cref="Insert(IPNetwork, int)"/>: cheaper than encoding the same record for each of its networks.
    /// </summary>
    public int AddRecord(object record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var offset = _data.Add(record);
        _records.Add(offset);
        return offset;
    }

    /// <summary>Maps every address of <paramref name="network"/> to a record stored by <see cref="AddRecord"/>.</summary>
    public void Insert(IPNetwork network, int record)
    {
        if (!_records.Contains(record))
        {
            throw new ArgumentException("Not a record handle of this writer; use AddRecord.", nameof(record));
        }

        var (bits, length) = ToTreeKey(network);
        if (length > 96 && bits >> 32 == UInt128.Zero)
        {
            // IPv4: start at the ::/96 node instead of walking 96 zero bits for each of millions of networks.
            if (_ipv4Root < 0)
            {
                _ipv4Root = NodeAt(UInt128.Zero, 96);
            }

            SetSlot(bits, length, DataBase - record, _ipv4Root, 96);
            return;
        }

        if (length <= 96 && bits >> (128 - length) == UInt128.Zero)
        {
            _ipv4Root = -1; // this network covers ::/96: the IPv4 subtree is replaced, find it anew
        }

        SetSlot(bits, length, DataBase - record, 0, 0);
    }

    /// <summary>Writes the database to <paramref name="output"/>.</summary>
    public void Write(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var (left, right) = WithAliases();
        var (order, number) = Renumber(left, right);
        var nodeCount = order.Count;

        long dataSize = _data.Length;
        // A data record's value is node_count + 16 (the separator) + its offset in the data section.
        var maxRecord = (ulong)nodeCount + 16 + (ulong)dataSize;
        var needed = maxRecord < 1UL << 24 ? 24 : maxRecord < 1UL << 28 ? 28 : maxRecord < 1UL << 32 ? 32
            : throw new InvalidOperationException("The database is larger than 32-bit records can address; split it.");
        var recordSize = RecordSize ?? needed;
        if (recordSize is not (24 or 28 or 32) || recordSize < needed)
        {
            throw new InvalidOperationException($"Record size {recordSize} is not usable here: use 24, 28 or 32 bits, at least {needed}.");
        }

        var nodeBytes = recordSize / 4;
        var tree = new byte[nodeCount * nodeBytes];
        for (var n = 0; n < nodeCount; n++)
        {
            var old = order[n];
            var l = Encode(left[old]);
            var r = Encode(right[old]);
            var node = tree.AsSpan(n * nodeBytes, nodeBytes);
            switch (recordSize)
            {
                case 24:
                    WriteUInt24(node, l);
                    WriteUInt24(node[3..], r);
                    break;
                case 28:
                    // | left 23..0 | left 27..24, right 27..24 | right 23..0 |
                    WriteUInt24(node, l & 0xFFFFFF);
                    node[3] = (byte)(((l >> 20) & 0xF0) | ((r >> 24) & 0x0F));
                    WriteUInt24(node[4..], r & 0xFFFFFF);
                    break;
                default:
                    BinaryPrimitives.WriteUInt32BigEndian(node, l);
                    BinaryPrimitives.WriteUInt32BigEndian(node[4..], r);
                    break;
            }
        }

        output.Write(tree);
        output.Write(new byte[16]);
        _data.WriteTo(output);

        output.Write(MetadataMarker);
        var metadata = new List<byte>();
        MmdbDataEncoder.Write(metadata, new Dictionary<string, object>
        {
            ["binary_format_major_version"] = (ushort)2,
            ["binary_format_minor_version"] = (ushort)0,
            ["build_epoch"] = (ulong)BuildTime.ToUnixTimeSeconds(),
            ["database_type"] = DatabaseType,
            ["description"] = new Dictionary<string, object>(Description.Select(p => new KeyValuePair<string, object>(p.Key, p.Value))),
            ["ip_version"] = (ushort)6,
            ["languages"] = Languages.ToArray(),
            ["node_count"] = (uint)nodeCount,
            ["record_size"] = (ushort)recordSize,
        });
        output.Write(metadata.ToArray());

        uint Encode(int slot) => slot switch
        {
            Empty => (uint)nodeCount,
            >= 0 => (uint)number[slot],
            _ => (uint)((ulong)nodeCount + 16 + (ulong)(DataBase - slot)),
        };
    }

    /// <summary>Writes the database to <paramref name="path"/> atomically: a temporary file in the same folder, then a rename.</summary>
    public void WriteFile(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Write(stream);
                stream.Flush(flushToDisk: true);
            }

            // An identical file stays as it is: a redirector watching it (processes share the sample folder) sees
            // no change and reloads nothing.
            if (!SameBytes(temp, full))
            {
                File.Move(temp, full, overwrite: true);
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static bool SameBytes(string a, string b)
    {
        var info = new FileInfo(b);
        if (!info.Exists || info.Length != new FileInfo(a).Length)
        {
            return false;
        }

        using var x = new FileStream(a, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var y = new FileStream(b, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        Span<byte> bx = stackalloc byte[8192];
        Span<byte> by = stackalloc byte[8192];
        while (true)
        {
            var n = x.ReadAtLeast(bx, bx.Length, throwOnEndOfStream: false);
            if (n == 0)
            {
                return true;
            }

            y.ReadExactly(by[..n]);
            if (!bx[..n].SequenceEqual(by[..n]))
            {
                return false;
            }
        }
    }

    /// <summary>The network as a 128-bit key and prefix length in the IPv6 tree; IPv4 goes under ::/96.</summary>
    private static (UInt128 Bits, int Length) ToTreeKey(IPNetwork network)
    {
        var address = network.BaseAddress;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> v4 = stackalloc byte[4];
            address.TryWriteBytes(v4, out _);
            return (BinaryPrimitives.ReadUInt32BigEndian(v4), network.PrefixLength + 96);
        }

        Span<byte> v6 = stackalloc byte[16];
        address.TryWriteBytes(v6, out _);
        return (BinaryPrimitives.ReadUInt128BigEndian(v6), network.PrefixLength);
    }

    private static bool Bit(UInt128 bits, int depth) => ((bits >> (127 - depth)) & UInt128.One) != UInt128.Zero;

    private int NewNode()
    {
        _left.Add(Empty);
        _right.Add(Empty);
        return _left.Count - 1;
    }

    private int GetChild(int node, bool right) => right ? _right[node] : _left[node];

    private void SetChild(int node, bool right, int value)
    {
        if (right)
        {
            _right[node] = value;
        }
        else
        {
            _left[node] = value;
        }
    }

    /// <summary>
    /// Sets the slot that covers exactly <paramref name="length"/> leading bits of <paramref name="bits"/>,
    /// creating nodes on the way. A shorter network already on the path is pushed down into both halves so
    /// the rest of it keeps its record. Returns the node whose slot was set.
    /// </summary>
    private int SetSlot(UInt128 bits, int length, int value, int startNode, int startDepth)
    {
        if (length == 0)
        {
            throw new ArgumentException("A ::/0 network cannot be stored: the root is a node, not a record.");
        }

        var node = startNode;
        for (var depth = startDepth; depth < length - 1; depth++)
        {
            var bit = Bit(bits, depth);
            var child = GetChild(node, bit);
            if (child < 0)
            {
                var split = NewNode();
                _left[split] = child;
                _right[split] = child;
                SetChild(node, bit, split);
                child = split;
            }

            node = child;
        }

        SetChild(node, Bit(bits, length - 1), value);
        return node;
    }

    /// <summary>A copy of the tree in which ::ffff:0:0/96 and 2002::/16 point at the IPv4 subtree (::/96).</summary>
    private (List<int> Left, List<int> Right) WithAliases()
    {
        var savedLeft = new List<int>(_left);
        var savedRight = new List<int>(_right);
        try
        {
            var ipv4Root = NodeAt(UInt128.Zero, 96);
            SetSlot((UInt128)0xFFFF << 32, 96, ipv4Root, 0, 0);
            SetSlot((UInt128)0x2002 << 112, 16, ipv4Root, 0, 0);
            return (new List<int>(_left), new List<int>(_right));
        }
        finally
        {
            _left.Clear();
            _left.AddRange(savedLeft);
            _right.Clear();
            _right.AddRange(savedRight);
        }
    }

    /// <summary>The node reached after <paramref name="length"/> bits, created (splitting records) if needed.</summary>
    private int NodeAt(UInt128 bits, int length)
    {
        var parent = 0;
        for (var depth = 0; depth < length; depth++)
        {
            var bit = Bit(bits, depth);
            var child = GetChild(parent, bit);
            if (child < 0)
            {
                var split = NewNode();
                _left[split] = child;
                _right[split] = child;
                SetChild(parent, bit, split);
                child = split;
            }

            parent = child;
        }

        return parent;
    }

    /// <summary>Numbers the reachable nodes breadth-first from the root (node 0), dropping any orphaned by overlaps.</summary>
    private static (List<int> Order, int[] Number) Renumber(List<int> left, List<int> right)
    {
        var number = new int[left.Count];
        Array.Fill(number, -1);
        var order = new List<int> { 0 };
        number[0] = 0;
        for (var i = 0; i < order.Count; i++)
        {
            Visit(left[order[i]]);
            Visit(right[order[i]]);
        }

        return (order, number);

        void Visit(int slot)
        {
            if (slot >= 0 && number[slot] < 0)
            {
                number[slot] = order.Count;
                order.Add(slot);
            }
        }
    }

    private static void WriteUInt24(Span<byte> destination, uint value)
    {
        destination[0] = (byte)(value >> 16);
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)value;
    }
}
