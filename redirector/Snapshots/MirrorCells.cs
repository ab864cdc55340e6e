using System.Numerics;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Where a <see cref="MirrorTable"/>'s rows sit on the globe, so a request keys only the rows near its
/// client instead of all of them (10,000 mirrors are 10,000 rows × six arrays: half a megabyte read per
/// redirect, which made selection a third of the redirector's CPU).
/// <para>
/// The sphere is cut into cells by a cube map (each of the six faces a grid of up to
/// <see cref="MaxGrid"/>×<see cref="MaxGrid"/> cells of roughly 1,000 km; coarser for small tables, so
/// cells hold a few vectors' worth of rows rather than mostly padding). The table's rows are laid out cell by cell, each cell a run of rows
/// padded to whole SIMD vectors, so a cell is a range the vector loops read as they read the whole table.
/// Each non-empty cell keeps a bounding cap: the centre of its mirrors and the largest angle from that
/// centre to one of them, from which an upper bound of any of its rows' keys for a given client follows
/// (<see cref="UpperBound"/>). Rows placed nowhere (country/continent-scoped mirrors, mirrors without
/// coordinates) come first, in rows [0, <see cref="AlwaysEnd"/>), and are keyed on every request.
/// </para>
/// </summary>
internal sealed class MirrorCells
{
    /// <summary>Most cells along each edge of a cube face.</summary>
    public const int MaxGrid = 8;

    /// <summary>Rows a cell should hold on average, at least (so padding stays a small share).</summary>
    private const int RowsPerCell = 8;

    public static MirrorCells None { get; } = new([], 0, [], [], [], [], [], [], [], new HashSet<long>());

    private MirrorCells(int[] layout, int alwaysEnd, int[] start, int[] end, double[] x, double[] y, double[] z,
        double[] cosRadius, double[] sinRadius, HashSet<long> asns)
    {
        Layout = layout;
        AlwaysEnd = alwaysEnd;
        Start = start;
        End = end;
        X = x;
        Y = y;
        Z = z;
        CosRadius = cosRadius;
        SinRadius = sinRadius;
        Asns = asns;
    }

    /// <summary>For each row of the table, the index of its source row (in the order given to <see cref="Lay"/>), or −1 for padding.</summary>
    public int[] Layout { get; }

    /// <summary>Rows [0, AlwaysEnd) are the unplaced ones, keyed on every request (a multiple of the vector width).</summary>
    public int AlwaysEnd { get; }

    /// <summary>First row of each cell (a multiple of the vector width).</summary>
    public int[] Start { get; }

    /// <summary>End of each cell's rows, padding included (a multiple of the vector width).</summary>
    public int[] End { get; }

    /// <summary>Unit vector of each cell's centre.</summary>
    public double[] X { get; }
    public double[] Y { get; }
    public double[] Z { get; }

    /// <summary>Cosine and sine of each cell's radius: the largest angle from its centre to one of its mirrors.</summary>
    public double[] CosRadius { get; }
    public double[] SinRadius { get; }

    /// <summary>Every non-zero ASN of a row: a client of one of them ranks that row above distance, which the cells do not bound.</summary>
    public HashSet<long> Asns { get; }

    public int Count => Start.Length;

    /// <summary><see cref="Count"/> rounded up to whole vectors: the length <see cref="Dots"/> writes.</summary>
    public int Padded => X.Length;

    /// <summary>
    /// The largest dot product between the client's unit vector and any mirror of cell <paramref name="cell"/>:
    /// with θ the angle to the cell's centre and r its radius, no mirror is nearer than θ − r.
    /// </summary>
    public double UpperBound(int cell, double cx, double cy, double cz)
    {
        var dot = cx * X[cell] + cy * Y[cell] + cz * Z[cell];
        if (dot >= CosRadius[cell])
            return 1; // the client is inside the cap
        // cos(θ − r) = cos θ cos r + sin θ sin r, with sin θ ≥ 0 for θ in [0, π].
        return dot * CosRadius[cell] + Math.Sqrt(Math.Max(0, 1 - dot * dot)) * SinRadius[cell];
    }

    /// <summary>
    /// The dot product of the client's unit vector with every cell's centre, a vector at a time, into
    /// <paramref name="dots"/> (<see cref="Padded"/> long; −∞ for the padding cells): the cosine of the angle θ
    /// to each centre, which orders cells nearest first and, with <see cref="Reach"/>, decides which may matter
    /// without a square root per cell.
    /// </summary>
    public void Dots(double cx, double cy, double cz, Span<double> dots)
    {
        var width = Vector<double>.Count;
        var (vx, vy, vz) = (new Vector<double>(cx), new Vector<double>(cy), new Vector<double>(cz));
        for (var c = 0; c < X.Length; c += width)
            (new Vector<double>(X, c) * vx + new Vector<double>(Y, c) * vy + new Vector<double>(Z, c) * vz).CopyTo(dots[c..]);
        dots[Count..].Fill(double.NegativeInfinity);
    }

    /// <summary>
    /// Which cells may hold a row keyed at or above a floor: <see cref="UpperBound"/> ≥ floor, i.e. the angle θ
    /// to the cell's centre is at most its radius r plus a = acos(floor), i.e. cos θ ≥ cos(r + a) = cos r cos a −
    /// sin r sin a, with cos a the floor itself; every cell when r + a ≥ π, i.e. cos r ≤ −cos a. A multiply-subtract
    /// per cell and no trigonometry at all for a given floor.
    /// </summary>
    public readonly struct Reach
    {
        private readonly double _cos;
        private readonly double _sin;

        /// <param name="floor">The lowest key that matters; −∞ reaches every cell.</param>
        public Reach(double floor)
        {
            _cos = Math.Clamp(floor, -1, 1);
            _sin = Math.Sqrt(1 - _cos * _cos);
        }

        /// <summary>Whether cell <paramref name="cell"/>, at dot product <paramref name="dot"/> from the client (−∞: never), may hold such a row.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public bool Includes(MirrorCells cells, int cell, double dot) =>
            dot >= (cells.CosRadius[cell] <= -_cos ? -2 : cells.CosRadius[cell] * _cos - cells.SinRadius[cell] * _sin);

        /// <summary><see cref="Includes"/> for the <see cref="Vector{T}.Count"/> cells from <paramref name="first"/>: whether any may.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public bool IncludesAny(MirrorCells cells, int first, ReadOnlySpan<double> dots)
        {
            var cos = new Vector<double>(cells.CosRadius, first);
            var limit = cos * new Vector<double>(_cos) - new Vector<double>(cells.SinRadius, first) * new Vector<double>(_sin);
            limit = Vector.ConditionalSelect(Vector.LessThanOrEqual(cos, new Vector<double>(-_cos)), new Vector<double>(-2), limit);
            return Vector.GreaterThanOrEqualAny(new Vector<double>(dots[first..]), limit);
        }
    }

    /// <summary>
    /// Lays out rows cell by cell. <paramref name="placed"/>[i] false keeps row i among the always-keyed ones;
    /// (<paramref name="x"/>, <paramref name="y"/>, <paramref name="z"/>) are the rows' unit vectors.
    /// </summary>
    public static MirrorCells Lay(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> z,
        ReadOnlySpan<bool> placed, ReadOnlySpan<long> asn)
    {
        var width = Vector<double>.Count;
        var n = x.Length;
        var grid = GridFor(n);
        var cellOf = new int[n];
        var always = 0;
        for (var i = 0; i < n; i++)
        {
            cellOf[i] = placed[i] && (x[i] != 0 || y[i] != 0 || z[i] != 0) ? CellOf(x[i], y[i], z[i], grid) : -1;
            if (cellOf[i] < 0)
                always++;
        }
        var order = new int[n];
        for (var i = 0; i < n; i++)
            order[i] = i;
        // Rows keep their given order inside a cell; unplaced ones (cell −1) come first.
        Array.Sort(order, 0, n, Comparer<int>.Create((a, b) => cellOf[a] != cellOf[b] ? cellOf[a].CompareTo(cellOf[b]) : a.CompareTo(b)));

        var layout = new List<int>(n + width * 64);
        var start = new List<int>();
        var end = new List<int>();
        var cx = new List<double>();
        var cy = new List<double>();
        var cz = new List<double>();
        var cosR = new List<double>();
        var sinR = new List<double>();
        void Pad()
        {
            while (layout.Count % width != 0)
                layout.Add(-1);
        }
        var k = 0;
        for (; k < always; k++)
            layout.Add(order[k]);
        Pad();
        var alwaysEnd = layout.Count;
        while (k < n)
        {
            var cell = cellOf[order[k]];
            var first = k;
            double sx = 0, sy = 0, sz = 0;
            for (; k < n && cellOf[order[k]] == cell; k++)
            {
                var row = order[k];
                layout.Add(row);
                sx += x[row];
                sy += y[row];
                sz += z[row];
            }
            var norm = Math.Sqrt(sx * sx + sy * sy + sz * sz);
            (sx, sy, sz) = norm > 0 ? (sx / norm, sy / norm, sz / norm) : (x[order[first]], y[order[first]], z[order[first]]);
            var minDot = 1.0;
            for (var j = first; j < k; j++)
            {
                var row = order[j];
                minDot = Math.Min(minDot, sx * x[row] + sy * y[row] + sz * z[row]);
            }
            // A hair wider than measured, so rounding in a request's own dot products never puts a mirror outside.
            var radius = Math.Min(Math.PI, Math.Acos(Math.Clamp(minDot, -1, 1)) + 1e-7);
            start.Add(layout.Count - (k - first));
            Pad();
            end.Add(layout.Count);
            cx.Add(sx);
            cy.Add(sy);
            cz.Add(sz);
            cosR.Add(Math.Cos(radius));
            sinR.Add(Math.Sin(radius));
        }
        while (cx.Count % width != 0)
        {
            // Padding cells: never keyed (Dots writes −∞ for them).
            cx.Add(0);
            cy.Add(0);
            cz.Add(0);
            cosR.Add(1);
            sinR.Add(0);
        }
        var asns = new HashSet<long>();
        foreach (var a in asn)
        {
            if (a != 0)
                asns.Add(a);
        }
        return new MirrorCells([.. layout], alwaysEnd, [.. start], [.. end], [.. cx], [.. cy], [.. cz], [.. cosR], [.. sinR], asns);
    }

    /// <summary>Cells along a face's edge for <paramref name="rows"/> rows: about <see cref="RowsPerCell"/> rows a cell, at most <see cref="MaxGrid"/>.</summary>
    public static int GridFor(int rows) => Math.Clamp((int)Math.Sqrt(rows / (6.0 * RowsPerCell)), 1, MaxGrid);

    /// <summary>Cube-map cell of a unit vector: the face of its largest component, then a <paramref name="grid"/>² grid on that face.</summary>
    public static int CellOf(double x, double y, double z, int grid)
    {
        double ax = Math.Abs(x), ay = Math.Abs(y), az = Math.Abs(z);
        int face;
        double u, v, major;
        if (ax >= ay && ax >= az)
        {
            face = x >= 0 ? 0 : 1;
            (u, v, major) = (y, z, ax);
        }
        else if (ay >= az)
        {
            face = y >= 0 ? 2 : 3;
            (u, v, major) = (x, z, ay);
        }
        else
        {
            face = z >= 0 ? 4 : 5;
            (u, v, major) = (x, y, az);
        }
        var i = Math.Clamp((int)((u / major + 1) * 0.5 * grid), 0, grid - 1);
        var j = Math.Clamp((int)((v / major + 1) * 0.5 * grid), 0, grid - 1);
        return (face * grid + i) * grid + j;
    }
}
