using System.Buffers;
using System.Runtime.InteropServices;
using Downloads.Mirror.Storage;

namespace Downloads.Mirror.Sync;

/// <summary>
/// Chunk-sized buffers for one run, rented lazily from the shared array pool, pinned for the run and
/// starting on a <see cref="DirectIo.Alignment"/> boundary, so that <see cref="PartialFile"/> can
/// hand them to the disk with direct I/O (no copy into the page cache). Returned to the pool on dispose.
/// </summary>
internal sealed class ChunkBuffers(int bufferBytes, int count) : IDisposable
{
    private const int Alignment = DirectIo.Alignment;

    private readonly List<(byte[] Array, GCHandle Pin)> _rented = new(count);

    /// <summary>A further buffer, unless <c>count</c> are out already.</summary>
    public bool TryRent(out Memory<byte> buffer)
    {
        if (_rented.Count == count)
        {
            buffer = default;
            return false;
        }
        // Pool arrays start anywhere: over-rent by one page and start at the first aligned byte.
        var array = ArrayPool<byte>.Shared.Rent(bufferBytes + Alignment);
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        _rented.Add((array, pin));
        var start = (int)((Alignment - (pin.AddrOfPinnedObject() % Alignment)) % Alignment);
        buffer = array.AsMemory(start, bufferBytes);
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (array, pin) in _rented)
        {
            pin.Free();
            ArrayPool<byte>.Shared.Return(array);
        }
        _rented.Clear();
    }
}
