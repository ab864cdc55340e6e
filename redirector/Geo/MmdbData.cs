using System.Buffers.Binary;

namespace Downloads.Redirector.Geo;

/// <summary>
/// Reads values of a MaxMind DB (format 2.0) data section in place: control bytes, one level of
/// pointers, maps, strings and numbers. Used when a database is loaded (decoding each distinct record
/// once) and for the metadata, never per request. Offsets are relative to the section given.
/// </summary>
/// <remarks>
/// Every read is bounds-checked by the span; malformed data ends in <see cref="InvalidDataException"/>
/// (or an index exception the loader treats alike), which the loader turns into "unknown" for that record.
/// </remarks>
internal static class MmdbData
{
    public const int Pointer = 1;
    public const int Utf8String = 2;
    public const int Double = 3;
    public const int Bytes = 4;
    public const int UInt16 = 5;
    public const int UInt32 = 6;
    public const int Map = 7;
    public const int Int32 = 8;
    public const int UInt64 = 9;
    public const int UInt128 = 10;
    public const int Array = 11;
    public const int Boolean = 14;
    public const int Float = 15;

    // Deeper nesting than this is no GeoIP2 schema; it bounds the recursion of a hostile file.
    private const int MaxDepth = 32;

    /// <summary>
    /// The value at <paramref name="offset"/>, following a pointer there to its target. For maps and
    /// arrays <see cref="Field.Size"/> is the entry count and <see cref="Field.Payload"/> the first entry;
    /// for booleans <see cref="Field.Size"/> is the value.
    /// </summary>
    public static Field Read(ReadOnlySpan<byte> data, int offset)
    {
        var field = ReadControl(data, offset);
        if (field.Type != Pointer)
        {
            return field;
        }

        var target = ReadControl(data, field.Size);
        return target.Type == Pointer
            ? throw new InvalidDataException($"A pointer at {offset} points at another pointer.")
            : target;
    }

    /// <summary>Where the value starting at <paramref name="offset"/> ends (a pointer ends after its own bytes).</summary>
    public static int Skip(ReadOnlySpan<byte> data, int offset) => Skip(data, offset, 0);

    /// <summary>Finds <paramref name="key"/> in the map at <paramref name="mapOffset"/>; the value's offset when found.</summary>
    public static bool TryGetMapValue(ReadOnlySpan<byte> data, int mapOffset, ReadOnlySpan<byte> key, out int valueOffset)
    {
        var map = Read(data, mapOffset);
        if (map.Type != Map)
        {
            valueOffset = -1;
            return false;
        }

        var position = map.Payload;
        for (var i = 0; i < map.Size; i++)
        {
            var name = Read(data, position);
            if (name.Type != Utf8String)
            {
                throw new InvalidDataException($"A map key at {position} is of type {name.Type}, not a string.");
            }

            var valueStart = Skip(data, position);
            if (data.Slice(name.Payload, name.Size).SequenceEqual(key))
            {
                valueOffset = valueStart;
                return true;
            }

            position = Skip(data, valueStart);
        }

        valueOffset = -1;
        return false;
    }

    /// <summary>Follows <paramref name="path"/> through nested maps from <paramref name="offset"/>.</summary>
    public static bool TryGetPath(ReadOnlySpan<byte> data, int offset, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, out int valueOffset)
    {
        valueOffset = -1;
        return TryGetMapValue(data, offset, first, out var inner) && TryGetMapValue(data, inner, second, out valueOffset);
    }

    /// <summary>A double (or float) at <paramref name="offset"/>; NaN when the value is of another type.</summary>
    public static double ReadDouble(ReadOnlySpan<byte> data, int offset)
    {
        var field = Read(data, offset);
        return field switch
        {
            { Type: Double, Size: 8 } => BinaryPrimitives.ReadDoubleBigEndian(data.Slice(field.Payload, 8)),
            { Type: Float, Size: 4 } => BinaryPrimitives.ReadSingleBigEndian(data.Slice(field.Payload, 4)),
            _ => double.NaN,
        };
    }

    /// <summary>An unsigned integer (uint16/32/64 or a non-negative int32) at <paramref name="offset"/>; null for other types.</summary>
    public static ulong? ReadUnsigned(ReadOnlySpan<byte> data, int offset)
    {
        var field = Read(data, offset);
        if (field.Type is not (UInt16 or UInt32 or UInt64 or Int32) || field.Size > 8)
        {
            return null;
        }

        ulong value = 0;
        foreach (var b in data.Slice(field.Payload, field.Size))
        {
            value = (value << 8) | b;
        }

        return field.Type == Int32 && field.Size == 4 && (value & 0x8000_0000) != 0 ? null : value;
    }

    /// <summary>The UTF-8 bytes of the string at <paramref name="offset"/>; empty for other types.</summary>
    public static ReadOnlySpan<byte> ReadUtf8(ReadOnlySpan<byte> data, int offset)
    {
        var field = Read(data, offset);
        return field.Type == Utf8String ? data.Slice(field.Payload, field.Size) : default;
    }

    private static int Skip(ReadOnlySpan<byte> data, int offset, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException($"Values nested deeper than {MaxDepth} at {offset}.");
        }

        var field = ReadControl(data, offset);
        switch (field.Type)
        {
            case Pointer:
                return field.End;
            case Map or Array:
                var position = field.Payload;
                var entries = field.Type == Map ? 2L * field.Size : field.Size;
                for (long i = 0; i < entries; i++)
                {
                    position = Skip(data, position, depth + 1);
                }

                return position;
            case Boolean:
                return field.Payload;
            default:
                return field.Payload + field.Size;
        }
    }

    /// <summary>The control byte(s) at <paramref name="offset"/>; for a pointer, <see cref="Field.Size"/> is its target.</summary>
    private static Field ReadControl(ReadOnlySpan<byte> data, int offset)
    {
        var control = data[offset];
        var type = control >> 5;
        var position = offset + 1;
        if (type == Pointer)
        {
            // 001SSVVV: SS+1 more bytes; the larger forms add the range the smaller ones cover.
            var size = (control >> 3) & 0x3;
            var high = control & 0x7;
            var target = size switch
            {
                0 => (high << 8) | data[position],
                1 => ((high << 16) | BinaryPrimitives.ReadUInt16BigEndian(data.Slice(position, 2))) + 2048,
                2 => ((high << 24) | ReadUInt24(data.Slice(position, 3))) + 526_336,
                _ => BinaryPrimitives.ReadInt32BigEndian(data.Slice(position, 4)),
            };
            if (target < 0 || target >= data.Length)
            {
                throw new InvalidDataException($"A pointer at {offset} points outside the data section.");
            }

            return new Field(Pointer, target, position + size + 1, position + size + 1);
        }

        if (type == 0)
        {
            type = 7 + data[position++];
            if (type is <= 7 or > Float)
            {
                throw new InvalidDataException($"An extended type at {offset} is not a type ({type}).");
            }
        }

        var length = control & 0x1F;
        switch (length)
        {
            case 29:
                length = 29 + data[position];
                position += 1;
                break;
            case 30:
                length = 285 + BinaryPrimitives.ReadUInt16BigEndian(data.Slice(position, 2));
                position += 2;
                break;
            case 31:
                length = 65_821 + ReadUInt24(data.Slice(position, 3));
                position += 3;
                break;
        }

        var end = type is Map or Array or Boolean ? -1 : position + length;
        if (end > data.Length)
        {
            throw new InvalidDataException($"A value at {offset} runs past the end of the data section.");
        }

        return new Field(type, length, position, end);
    }

    private static int ReadUInt24(ReadOnlySpan<byte> bytes) => (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];

    /// <summary>A decoded control: type, size (or count, or pointer target), where the payload starts, where a scalar ends.</summary>
    public readonly record struct Field(int Type, int Size, int Payload, int End);
}
