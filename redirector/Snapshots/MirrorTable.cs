using System.Numerics;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// The fields the selection loop reads per mirror, as parallel arrays (structure of arrays) so the loop
/// runs over SIMD vectors: a unit vector for distance (a dot product instead of trigonometry), the sets
/// carried as bits, the verified serial, the ASN and the lottery weight. Arrays are padded to a whole
/// number of vectors with rows that never qualify (serial −1, no set, entry −1). Rows are laid out
/// cell by cell (<see cref="Cells"/>), each cell padded the same way.
/// </summary>
internal sealed class MirrorTable
{
    public static MirrorTable Empty { get; } = new(0);

    /// <summary>A table of <paramref name="count"/> rows in one run, without cells (every request keys every row).</summary>
    public MirrorTable(int count)
        : this(count, (count + Vector<double>.Count - 1) / Vector<double>.Count * Vector<double>.Count, MirrorCells.None)
    {
    }

    /// <summary>A table of <paramref name="count"/> rows laid out as <paramref name="cells"/> says.</summary>
    public MirrorTable(int count, MirrorCells cells)
        : this(count, cells.Layout.Length, cells)
    {
    }

    private MirrorTable(int count, int padded, MirrorCells cells)
    {
        Count = count;
        Cells = cells;
        X = new double[padded];
        Y = new double[padded];
        Z = new double[padded];
        Weight = new double[padded];
        Spare = new double[padded];
        Scale = new double[padded];
        Load = new AssignedLoad[padded];
        Serial = new long[padded];
        Asn = new long[padded];
        SetMask = new ulong[padded];
        Entry = new int[padded];
        Serial.AsSpan().Fill(-1);
        Entry.AsSpan().Fill(-1);
    }

    /// <summary>Real rows; the arrays may be longer (padding).</summary>
    public int Count { get; }

    /// <summary>Where the rows sit on the globe; <see cref="MirrorCells.None"/> (no cell) for a table built as one run.</summary>
    public MirrorCells Cells { get; }

    public double[] X { get; }
    public double[] Y { get; }
    public double[] Z { get; }
    /// <summary>Lottery weight on the reported spare bandwidth (see <see cref="Spare"/> for the live one).</summary>
    public double[] Weight { get; }

    /// <summary>Reported spare bandwidth, bytes/s; the lottery subtracts <see cref="Load"/> from it.</summary>
    public double[] Spare { get; }

    /// <summary>Ops' weight ÷ 100.</summary>
    public double[] Scale { get; }

    /// <summary>This redirector's own recent redirects per row (null in padding rows, which never qualify).</summary>
    public AssignedLoad[] Load { get; }

    /// <summary>Lottery weight of a row now: reported spare less our own redirects since, × weight; 0 when that is used up.</summary>
    public double WeightNow(int row) => Math.Max(0, Spare[row] - Load[row].Bps) * Scale[row];

    public long[] Serial { get; }
    public long[] Asn { get; }

    /// <summary>Sets carried as bits; 0 for a scoped mirror, which the vector pass skips and <see cref="Scoped"/> handles.</summary>
    public ulong[] SetMask { get; }

    /// <summary>Index of the row's mirror in <see cref="RoutingSnapshot.Mirrors"/>; −1 for padding.</summary>
    public int[] Entry { get; }

    /// <summary>Rows of country/continent-scoped mirrors (rare): checked one by one after the vector pass.</summary>
    public int[] Scoped { get; init; } = [];

    /// <summary>Real set masks of the scoped rows, parallel to <see cref="Scoped"/>.</summary>
    public ulong[] ScopedSetMask { get; init; } = [];
}
