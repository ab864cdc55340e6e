using System.Runtime.InteropServices;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// The few fields the selection loop reads per mirror, packed so that thousands of them scan from
/// cache: a unit vector for distance (a dot product instead of trigonometry), the sets carried as
/// bits, the verified serial, and the lottery weight.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct MirrorPoint(
    double X, double Y, double Z, ulong SetMask, long Serial, long Asn, double Weight, int Entry, bool Scoped);
