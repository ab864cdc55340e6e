using System.Buffers.Binary;
using System.Collections;
using System.Text;

namespace Downloads.GeoData;

/// <summary>
/// Encodes values into the data section of a MaxMind DB (format 2.0): a control byte holding the type
/// and payload size, then the big-endian payload. Pointers to values written before are the business of
/// <see cref="MmdbDataSection"/>, which uses this encoding as the identity of a value.
/// </summary>
internal static class MmdbDataEncoder
{
    private const int TypeUtf8String = 2;
    private const int TypeDouble = 3;
    private const int TypeBytes = 4;
    private const int TypeUInt16 = 5;
    private const int TypeUInt32 = 6;
    internal const int TypeMap = 7;
    private const int TypeInt32 = 8;
    private const int TypeUInt64 = 9;
    internal const int TypeArray = 11;
    private const int TypeBoolean = 14;
    private const int TypeFloat = 15;

    /// <summary>
    /// Appends <paramref name="value"/>. C# types map to MMDB types: string → utf8_string, double → double,
    /// float → float, ushort → uint16, uint → uint32, ulong → uint64, int → int32 (what GeoIP2 readers
    /// expect for signed values), bool → boolean, byte[] → bytes, a string-keyed dictionary → map (keys in
    /// ordinal order so output is deterministic), any other sequence → array.
    /// </summary>
    public static void Write(List<byte> output, object value)
    {
        switch (value)
        {
            case string s:
                var utf8 = Encoding.UTF8.GetBytes(s);
                WriteControl(output, TypeUtf8String, utf8.Length);
                output.AddRange(utf8);
                break;
            case double d:
                WriteControl(output, TypeDouble, 8);
                Span<byte> d8 = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(d8, d);
                output.AddRange(d8);
                break;
            case float f:
                WriteControl(output, TypeFloat, 4);
                Span<byte> f4 = stackalloc byte[4];
                BinaryPrimitives.WriteSingleBigEndian(f4, f);
                output.AddRange(f4);
                break;
            case ushort u16:
                WriteUnsigned(output, TypeUInt16, u16);
                break;
            case uint u32:
                WriteUnsigned(output, TypeUInt32, u32);
                break;
            case ulong u64:
                WriteUnsigned(output, TypeUInt64, u64);
                break;
            case int i32:
                // Two's complement; readers accept 0–4 bytes, so keep all four for negatives and trim positives.
                if (i32 >= 0)
                {
                    WriteUnsigned(output, TypeInt32, (uint)i32);
                }
                else
                {
                    WriteControl(output, TypeInt32, 4);
                    Span<byte> i4 = stackalloc byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(i4, i32);
                    output.AddRange(i4);
                }

                break;
            case bool b:
                WriteControl(output, TypeBoolean, b ? 1 : 0);
                break;
            case byte[] bytes:
                WriteControl(output, TypeBytes, bytes.Length);
                output.AddRange(bytes);
                break;
            case IEnumerable<KeyValuePair<string, object>> or IDictionary:
                WriteMap(output, value);
                break;
            case IEnumerable sequence:
                var items = new List<object>();
                foreach (var item in sequence)
                {
                    items.Add(item ?? throw new ArgumentException("MMDB arrays cannot hold null; leave the element out."));
                }

                WriteControl(output, TypeArray, items.Count);
                foreach (var item in items)
                {
                    Write(output, item);
                }

                break;
            default:
                throw new ArgumentException(
                    $"MMDB has no encoding for {value.GetType().Name}; use string, double, float, ushort, uint, ulong, int, bool, byte[], a string-keyed dictionary or a sequence.",
                    nameof(value));
        }
    }

    /// <summary>A map's entries in ordinal key order (the order written, so output is deterministic).</summary>
    internal static List<KeyValuePair<string, object>> SortedPairs(object map)
    {
        var pairs = new List<KeyValuePair<string, object>>();
        if (map is IEnumerable<KeyValuePair<string, object>> typed)
        {
            pairs.AddRange(typed);
        }
        else
        {
            foreach (DictionaryEntry entry in (IDictionary)map)
            {
                pairs.Add(new(entry.Key as string ?? throw new ArgumentException("MMDB map keys must be strings."), entry.Value!));
            }
        }

        pairs.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return pairs;
    }

    private static void WriteMap(List<byte> output, object map)
    {
        var pairs = SortedPairs(map);
        WriteControl(output, TypeMap, pairs.Count);
        foreach (var (key, item) in pairs)
        {
            Write(output, key);
            Write(output, item ?? throw new ArgumentException($"MMDB maps cannot hold null (key '{key}'); leave the key out."));
        }
    }

    /// <summary>Unsigned integers use as few big-endian bytes as the value needs; zero has no payload.</summary>
    private static void WriteUnsigned(List<byte> output, int type, ulong value)
    {
        var length = (64 - System.Numerics.BitOperations.LeadingZeroCount(value) + 7) / 8;
        WriteControl(output, type, length);
        for (var i = length - 1; i >= 0; i--)
        {
            output.Add((byte)(value >> (8 * i)));
        }
    }

    /// <summary>Control byte(s): type in the top three bits (extended types in a second byte), then the size.</summary>
    internal static void WriteControl(List<byte> output, int type, int size)
    {
        var typeBits = type <= 7 ? type << 5 : 0;
        int sizeBits;
        var extra = 0;
        Span<byte> buffer = stackalloc byte[3];
        if (size < 29)
        {
            sizeBits = size;
        }
        else if (size < 285)
        {
            sizeBits = 29;
            buffer[0] = (byte)(size - 29);
            extra = 1;
        }
        else if (size < 65_821)
        {
            sizeBits = 30;
            BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)(size - 285));
            extra = 2;
        }
        else if (size <= 16_843_036)
        {
            sizeBits = 31;
            var rest = size - 65_821;
            buffer[0] = (byte)(rest >> 16);
            buffer[1] = (byte)(rest >> 8);
            buffer[2] = (byte)rest;
            extra = 3;
        }
        else
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "An MMDB field holds at most 16,843,036 bytes or entries.");
        }

        output.Add((byte)(typeBits | sizeBits));
        if (type > 7)
        {
            output.Add((byte)(type - 7));
        }

        output.AddRange(buffer[..extra]);
    }
}
