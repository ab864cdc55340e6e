using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Downloads.Mirror.Storage;

/// <summary>
/// Direct I/O (Linux <c>O_DIRECT</c>) for writing fetched chunks: the disk reads them straight from
/// the mirror's buffer, with no copy into the page cache. That copy was the largest single CPU cost
/// of a sync (bench/README.md), and skipping the cache also keeps a large sync from evicting the
/// files being served. .NET has no option for it on Unix (<c>FileOptions</c> has none), so the flag
/// is set on an open handle with <c>fcntl</c>, which also refuses it where the file system does not
/// support it. Elsewhere (other systems, other CPU architectures' flag values) writes stay buffered.
/// </summary>
internal static partial class DirectIo
{
    /// <summary>Alignment of buffer address, file offset and length that direct I/O needs (the page size; enough for any logical block size).</summary>
    public const int Alignment = 4096;

    /// <summary>Linux <c>errno</c> EINVAL: a direct write the file system refuses (alignment, or no support).</summary>
    public const int InvalidArgument = 22;

    private const int GetFlags = 3;
    private const int SetFlags = 4;

    /// <summary>Opens <paramref name="path"/> a second time for direct writes; null where direct I/O is not available.</summary>
    public static SafeFileHandle? TryOpenForWrite(string path)
    {
        if (!OperatingSystem.IsLinux() || DirectFlag() is not { } direct)
            return null;
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        var flags = Fcntl(handle, GetFlags, 0);
        if (flags >= 0 && Fcntl(handle, SetFlags, flags | direct) == 0)
            return handle;
        handle.Dispose();
        return null;
    }

    // O_DIRECT differs between architectures (asm-generic vs arm's own fcntl.h).
    private static int? DirectFlag() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(SafeFileHandle handle, int command, int argument);
}
