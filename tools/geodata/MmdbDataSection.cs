using System.Collections;

namespace Downloads.GeoData;

/// <summary>
/// The data section of a MaxMind DB being written. As MaxMind's own writer does, a value already in the
/// section (a string, a map, an array, a double…) is written again only as a pointer to the first copy,
/// so generated files have the shape of GeoLite2's: keys, names and whole sub-maps shared by pointers.
/// </summary>
internal sealed class MmdbDataSection
{
    private readonly List<byte> _bytes = [];
    private readonly Dictionary<string, int> _offsets = new(StringComparer.Ordinal);

    /// <summary>Bytes written so far.</summary>
    public int Length => _bytes.Count;

    /// <summary>Appends <paramref name="value"/> unless an identical value is already here; its offset either way.</summary>
    public int Add(object value)
    {
        var canonical = Canonical(value, out _);
        if (_offsets.TryGetValue(canonical, out var existing))
        {
            return existing;
        }

        var offset = _bytes.Count;
        Emit(value);
        return offset;
    }

    /// <summary>Writes the section to <paramref name="output"/>.</summary>
    public void WriteTo(Stream output) => output.Write(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes));

    private void Emit(object value)
    {
        if (value is not (string or IEnumerable or double or ulong))
        {
            MmdbDataEncoder.Write(_bytes, value);
            return;
        }

        var canonical = Canonical(value, out var length);
        if (_offsets.TryGetValue(canonical, out var existing))
        {
            if (PointerLength(existing) < length)
            {
                WritePointer(existing);
                return;
            }
        }
        else
        {
            _offsets.Add(canonical, _bytes.Count);
        }

        switch (value)
        {
            case IEnumerable<KeyValuePair<string, object>> or IDictionary:
                var pairs = MmdbDataEncoder.SortedPairs(value);
                MmdbDataEncoder.WriteControl(_bytes, MmdbDataEncoder.TypeMap, pairs.Count);
                foreach (var (key, item) in pairs)
                {
                    Emit(key);
                    Emit(item);
                }

                break;
            case IEnumerable sequence and not string and not byte[]:
                var items = sequence.Cast<object>().ToList();
                MmdbDataEncoder.WriteControl(_bytes, MmdbDataEncoder.TypeArray, items.Count);
                foreach (var item in items)
                {
                    Emit(item);
                }

                break;
            default:
                MmdbDataEncoder.Write(_bytes, value);
                break;
        }
    }

    /// <summary>The SHA-256 of a value's pointer-free encoding, as a dictionary key; equal values give equal keys.</summary>
    private static string Canonical(object value, out int length)
    {
        var bytes = new List<byte>();
        MmdbDataEncoder.Write(bytes, value);
        length = bytes.Count;
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
    }

    private static int PointerLength(int offset) => offset switch
    {
        < 2048 => 2,
        < 526_336 => 3,
        < 134_744_064 => 4,
        _ => 5,
    };

    /// <summary>001SSVVV then SS+1 bytes; each larger form starts where the smaller one's range ends.</summary>
    private void WritePointer(int offset)
    {
        switch (offset)
        {
            case < 2048:
                _bytes.Add((byte)(0x20 | ((offset >> 8) & 0x7)));
                _bytes.Add((byte)offset);
                break;
            case < 526_336:
                var p1 = offset - 2048;
                _bytes.Add((byte)(0x28 | ((p1 >> 16) & 0x7)));
                _bytes.Add((byte)(p1 >> 8));
                _bytes.Add((byte)p1);
                break;
            case < 134_744_064:
                var p2 = offset - 526_336;
                _bytes.Add((byte)(0x30 | ((p2 >> 24) & 0x7)));
                _bytes.Add((byte)(p2 >> 16));
                _bytes.Add((byte)(p2 >> 8));
                _bytes.Add((byte)p2);
                break;
            default:
                _bytes.Add(0x38);
                _bytes.Add((byte)(offset >> 24));
                _bytes.Add((byte)(offset >> 16));
                _bytes.Add((byte)(offset >> 8));
                _bytes.Add((byte)offset);
                break;
        }
    }
}
