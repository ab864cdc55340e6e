using System.Runtime.InteropServices;

namespace Downloads.Redirector.Geo;

/// <summary>
/// Memory outside the GC heap, handed back to the OS the moment it is released (by <see cref="SafeHandle.Dispose()"/>,
/// or by the finalizer once nothing references it). A geo file's data section (tens of MB) is read into one,
/// decoded and disposed; its tree lives in one for as long as that version of the database serves. On the
/// GC heap either would stay resident until a full collection that happens to compact it, and a large tree
/// cannot reuse the fragments the previous load left, so every reload would add its size to the peak.
/// </summary>
internal sealed unsafe class NativeBuffer : SafeHandle
{
    public NativeBuffer(long length)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, int.MaxValue);
        Length = (int)length;
        SetHandle((IntPtr)NativeMemory.Alloc((nuint)Math.Max(1, length)));
        GC.AddMemoryPressure(Math.Max(1, length));
    }

    public int Length { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The start of the memory; valid while this object is reachable and not disposed.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (byte*)handle;
        }
    }

    public Span<byte> Span => new(Pointer, Length);

    protected override bool ReleaseHandle()
    {
        NativeMemory.Free((void*)handle);
        GC.RemoveMemoryPressure(Math.Max(1, Length));
        return true;
    }
}
