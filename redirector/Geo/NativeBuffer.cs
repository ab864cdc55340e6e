using System.Runtime.InteropServices;

namespace Downloads.Redirector.Geo;

/// <summary>
/// Memory outside the GC heap, handed back to the OS the moment it is released (by <see cref="SafeHandle.Dispose()"/>,
/// or by the finalizer once nothing references it). A geo file's data section (tens of MB) is read into one,
/// decoded and disposed; its tree lives in one for as long as that version of the database serves. On the
/// GC heap either would stay resident until a full collection that happens to compact it, and a large tree
/// cannot reuse the fragments the previous load left, so every reload would add its size to the peak.
/// On Linux the memory is its own anonymous mapping (mmap/munmap), not malloc's: glibc raises its mmap
/// threshold to the size of the first such block freed (up to 32 MiB), so the next data section of that
/// size came from a malloc arena, and an arena keeps freed memory resident (measured: +32 MB of RSS after
/// every City reload).
/// </summary>
internal sealed unsafe partial class NativeBuffer : SafeHandle
{
    private const int ProtRead = 0x1, ProtWrite = 0x2, MapPrivate = 0x02, MapAnonymous = 0x20;

    public NativeBuffer(long length)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, int.MaxValue);
        Length = (int)length;
        var size = (nuint)Math.Max(1, length);
        if (OperatingSystem.IsLinux())
        {
            var at = Mmap(IntPtr.Zero, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (at == -1)
                throw new InsufficientMemoryException($"mmap of {size} bytes failed (errno {Marshal.GetLastPInvokeError()})");
            SetHandle(at);
        }
        else
        {
            SetHandle((IntPtr)NativeMemory.Alloc(size));
        }
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
        if (OperatingSystem.IsLinux())
            _ = Munmap(handle, (nuint)Math.Max(1, Length));
        else
            NativeMemory.Free((void*)handle);
        GC.RemoveMemoryPressure(Math.Max(1, Length));
        return true;
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial IntPtr Mmap(IntPtr address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(IntPtr address, nuint length);
}
