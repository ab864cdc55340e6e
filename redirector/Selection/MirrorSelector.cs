using System.Buffers;
using System.Numerics;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Selection;

/// <summary>
/// Picks the target among the mirrors that may serve (<see cref="Eligibility"/> says which: the snapshot's
/// tables hold those without a standing exclusion, and the passes below apply the per-request rules).
/// Candidates rank by same ASN first, then great-circle distance. The target is drawn among the near ones
/// (within <see cref="RedirectorOptions.NearFactor"/> or <see cref="RedirectorOptions.NearDistanceKm"/> of
/// the nearest candidate with room) weighted by spare bandwidth × weight — the reported spare less this
/// redirector's own redirects since that report (<see cref="AssignedLoad"/>) — so a surge spills over
/// smoothly instead of flattening the nearest host; the alternates are the next best by rank.
/// <see cref="Explain"/> (the mirror list) runs the same steps and reports the lottery they set up, so the
/// chances it shows are the ones the draw uses.
/// </summary>
internal sealed class MirrorSelector
{
    /// <summary>Added to a same-ASN mirror's key: a dot product is at most 1, so these rank above every other.</summary>
    private const double AsnBonus = 4;

    private readonly Random _random;
    private readonly double _nearFactor;
    private readonly double _nearRadians;
    private readonly (double X, double Y, double Z) _default;
    private readonly bool _account;
    private readonly double _clientBps;
    private readonly double _minTransferSeconds;

    public MirrorSelector(RedirectorOptions options, Random random)
    {
        _random = random;
        _nearFactor = options.NearFactor;
        _nearRadians = options.NearDistanceKm / GreatCircle.EarthRadiusKm;
        _default = SnapshotBuilder.UnitVector(options.DefaultLatitude, options.DefaultLongitude);
        _account = options.AccountOwnRedirects;
        _clientBps = Bandwidth.BytesPerSecond(options.AssumedClientMbps);
        _minTransferSeconds = options.AssumedMinTransferSeconds;
    }

    /// <summary>The rate one redirect for a file of <paramref name="size"/> bytes is assumed to add to its mirror (see <see cref="AssignedLoad"/>).</summary>
    public long AssumedBps(long size) => (long)Math.Min(size / _minTransferSeconds, _clientBps);

    /// <summary>
    /// Writes the chosen mirror's index in <see cref="RoutingSnapshot.Mirrors"/> to <c>picks[0]</c> and
    /// the alternates after it; returns how many were written (0: no candidate). Allocates nothing.
    /// </summary>
    /// <param name="account">
    /// Whether the pick adds to the chosen mirror's estimated load (with <see cref="RedirectorOptions.AccountOwnRedirects"/>):
    /// only for a download that will follow (a GET redirect), not for a HEAD or a Metalink, whose client
    /// spreads its own load over the mirrors listed.
    /// </param>
    public int Select(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https, Span<int> picks, bool account = true)
    {
        var table = https ? snapshot.Https : snapshot.Http;
        if (table.Count == 0 || picks.IsEmpty)
            return 0;
        var (cx, cy, cz) = client.HasCoordinates ? SnapshotBuilder.UnitVector(client.Latitude, client.Longitude) : _default;
        var keys = ArrayPool<double>.Shared.Rent(table.Serial.Length);
        // The table's serials, or for a file just released from staging those that count its holders as synced.
        var serials = snapshot.SerialsFor(file, https);
        try
        {
            // Usually only the cells near the client are keyed (see MirrorCells); out to the nearest mirror with
            // room when our own redirects filled the near ones; every row when the cells cannot decide (a same-ASN
            // mirror, more than 64 sets, more cells than MaxRanges).
            if (CellsDecide(table, file, client, picks.Length))
            {
                var search = new CellSearch(table, serials, file, cx, cy, cz, keys, stackalloc (int, int)[MaxRanges], stackalloc double[picks.Length],
                    stackalloc int[picks.Length], stackalloc double[table.Cells.Padded]);
                if (NearRanges(snapshot, client, ref search, out var floor))
                {
                    var picked = Pick(table, file, keys, search.Ranges, search.Best, floor, picks, account, search.Nearest);
                    if (picked >= 0)
                        return picked;
                    if (Widen(ref search, out floor))
                    {
                        picked = Pick(table, file, keys, search.Ranges, search.Best, floor, picks, account, search.Nearest);
                        if (picked >= 0)
                            return picked;
                    }
                }
            }
            ReadOnlySpan<(int Start, int End)> all = [(0, table.Serial.Length)];
            var best = KeyRows(snapshot, table, serials, file, client, cx, cy, cz, keys, 0, table.Serial.Length);
            return Pick(table, file, keys, all, best, double.NegativeInfinity, picks, account, []);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(keys);
        }
    }

    /// <summary>Cells <see cref="Widen"/> tries beyond the near set for one with room before it keys every row instead.</summary>
    private const int WidenProbes = 6;

    /// <summary>Most cells keyed for one request before keying every row is cheaper.</summary>
    private const int MaxRanges = 32;

    /// <summary>
    /// The lottery, the draw and the alternates among the keyed <paramref name="ranges"/>, every row keyed
    /// at or above <paramref name="floor"/> being among them. Returns −1 when the lottery would reach below
    /// the floor (our own redirects filled the nearest rows and the spill goes further out than the cells keyed).
    /// <paramref name="nearest"/>, when not empty, holds the best-keyed rows of the ranges, best first, as many as
    /// <paramref name="picks"/> has room for (or every keyed row, if fewer): the alternates are taken from it
    /// instead of another pass over the ranges.
    /// </summary>
    private int Pick(MirrorTable table, FileEntry file, double[] keys, ReadOnlySpan<(int Start, int End)> ranges, double best, double floor,
        Span<int> picks, bool account, ReadOnlySpan<int> nearest)
    {
        if (double.IsNegativeInfinity(best))
            return 0;

        // The lottery among the near ones (usually one scan), then the draw.
        Span<int> rows = stackalloc int[MaxCollected];
        Span<double> weights = stackalloc double[MaxCollected];
        if (Lottery(table, keys, best, floor, rows, weights, ranges) is not { } lottery)
            return -1;
        var chosen = Draw(table, keys, lottery, rows, weights, ranges);
        picks[0] = table.Entry[chosen];
        if (_account && account)
            table.Load[chosen].Add(AssumedBps(file.Size));

        // Alternates are the best-ranked of the rest, kept sorted in a tiny buffer.
        return 1 + (nearest.IsEmpty
            ? Alternates(table, keys, chosen, picks[1..], ranges)
            : AlternatesAmong(table, nearest, chosen, picks[1..]));
    }

    /// <summary>Whether the cells can bound this request's keys: not when the client's ASN hosts a mirror (those rank above distance), nor for a file of no set bit.</summary>
    private static bool CellsDecide(MirrorTable table, FileEntry file, in ClientLocation client, int want) =>
        table.Cells.Count > 0 && file.SetBit != 0 && !(client.Asn != 0 && table.Cells.Asns.Contains(client.Asn)) && want <= 16;

    /// <summary>
    /// Keys the rows that can matter for this client, cell by cell, nearest first, into the search's ranges;
    /// false when the cells cannot decide (too many ranges). It stops when no unvisited cell can hold a row as
    /// near as the near set's edge or the want-th best key so far, so every near row and every row the
    /// alternates could take has been keyed: every row keyed at or above <paramref name="floor"/> is in the ranges.
    /// </summary>
    private bool NearRanges(RoutingSnapshot snapshot, in ClientLocation client, ref CellSearch search, out double floor)
    {
        floor = double.NegativeInfinity;
        var table = search.Table;
        var cells = table.Cells;
        var want = search.Top.Length;
        if (cells.AlwaysEnd > 0 || table.Scoped.Length > 0)
        {
            search.Add(0, cells.AlwaysEnd);
            search.Best = KeyRows(snapshot, table, search.Serials, search.File, client, search.Cx, search.Cy, search.Cz, search.Keys, 0, cells.AlwaysEnd);
            search.Kept = Keep(search.Keys, 0, cells.AlwaysEnd, search.Top, search.TopRows, 0);
        }
        cells.Dots(search.Cx, search.Cy, search.Cz, search.Dots);
        // Cells with the nearest centres first until the near set's edge and enough alternates are known (the
        // order only makes the floor rise early; the sweep below makes the answer exact).
        while (search.Kept < want || double.IsNegativeInfinity(search.Best))
        {
            var next = search.NearestUnvisited();
            if (next < 0)
                return true; // every cell keyed (floor −∞: every row is)
            if (!search.Visit(next))
                return false;
        }
        var nearOf = search.Best;
        var near = NearThreshold(nearOf);
        floor = Math.Min(near, search.Top[want - 1]);
        var sweep = new CellSweep(floor);
        while (sweep.Next(ref search) is var cell && cell >= 0)
        {
            if (!search.Visit(cell))
                return false;
            if (search.Best != nearOf)
                (nearOf, near) = (search.Best, NearThreshold(search.Best));
            sweep.Raise(ref floor, Math.Min(near, search.Top[want - 1]));
        }
        return true;
    }

    /// <summary>
    /// After <see cref="NearRanges"/>, when our own redirects filled every near row (<see cref="Pick"/> returned −1):
    /// keys outward to the nearest row that still has room by our estimate and every row near it, as keying every
    /// row would, so the lottery can move out with it. False when the cells cannot decide.
    /// </summary>
    private bool Widen(ref CellSearch search, out double floor)
    {
        floor = double.NegativeInfinity;
        var table = search.Table;
        var roomy = NearestWithRoom(table, search.Keys, search.Ranges);
        for (var probed = 0; double.IsNegativeInfinity(roomy); probed++)
        {
            var next = search.NearestUnvisited();
            if (next < 0)
                return true; // every cell keyed and none has room: floor −∞
            // Nothing with room in the next few cells either: the whole table is likely full, which keying every row settles.
            if (probed == WidenProbes || !search.Visit(next))
                return false;
            roomy = NearestWithRoom(table, search.Keys, search.Ranges[^1..]);
        }
        // Every row nearer than the nearest with room found so far lies in a cell the sweep reaches, so the
        // nearest with room anywhere is found too.
        floor = NearThreshold(roomy);
        var sweep = new CellSweep(floor);
        while (sweep.Next(ref search) is var cell && cell >= 0)
        {
            if (!search.Visit(cell))
                return false;
            roomy = Math.Max(roomy, NearestWithRoom(table, search.Keys, search.Ranges[^1..]));
            sweep.Raise(ref floor, NearThreshold(roomy));
        }
        return true;
    }

    /// <summary>The state of one cell search (<see cref="NearRanges"/>, <see cref="Widen"/>), on the stack.</summary>
    private ref struct CellSearch(MirrorTable table, long[] serials, FileEntry file, double cx, double cy, double cz, double[] keys,
        Span<(int Start, int End)> ranges, Span<double> top, Span<int> topRows, Span<double> dots)
    {
        public readonly MirrorTable Table = table;
        public readonly long[] Serials = serials;
        public readonly FileEntry File = file;
        public readonly double Cx = cx, Cy = cy, Cz = cz;
        public readonly double[] Keys = keys;

        /// <summary>Ranges keyed so far.</summary>
        public int Count;

        /// <summary>Best key so far.</summary>
        public double Best = double.NegativeInfinity;

        /// <summary>How many of <see cref="Top"/> hold a key.</summary>
        public int Kept;

        /// <summary>The best keys so far, best first.</summary>
        public readonly Span<double> Top = top;

        /// <summary>The rows of <see cref="Top"/>.</summary>
        public readonly Span<int> TopRows = topRows;

        /// <summary>Each cell centre's dot product with the client (<see cref="MirrorCells.Dots"/>); −∞ once keyed.</summary>
        public readonly Span<double> Dots = dots;

        private readonly Span<(int Start, int End)> _ranges = ranges;

        /// <summary>The row ranges keyed so far.</summary>
        public readonly ReadOnlySpan<(int Start, int End)> Ranges => _ranges[..Count];

        /// <summary>The best-keyed rows so far, best first.</summary>
        public readonly ReadOnlySpan<int> Nearest => TopRows[..Kept];

        /// <summary>Records a range keyed outside the cells (the always-keyed rows).</summary>
        public void Add(int start, int end) => _ranges[Count++] = (start, end);

        /// <summary>The unvisited cell with the nearest centre (ties: the first), or −1 when every cell is keyed.</summary>
        public readonly int NearestUnvisited()
        {
            var width = Vector<double>.Count;
            var most = new Vector<double>(double.NegativeInfinity);
            for (var c = 0; c < Dots.Length; c += width)
                most = Vector.Max(most, new Vector<double>(Dots[c..]));
            var top = double.NegativeInfinity;
            for (var j = 0; j < width; j++)
                top = Math.Max(top, most[j]);
            return double.IsNegativeInfinity(top) ? -1 : Dots.IndexOf(top);
        }

        /// <summary>Keys a cell's rows; false when the ranges are full (then every row is keyed instead).</summary>
        public bool Visit(int cell)
        {
            if (Count == _ranges.Length)
                return false;
            Dots[cell] = double.NegativeInfinity;
            var (start, end) = (Table.Cells.Start[cell], Table.Cells.End[cell]);
            _ranges[Count++] = (start, end);
            Best = Math.Max(Best, KeyAll(Table, Serials, File, 0, Cx, Cy, Cz, Keys, start, end));
            Kept = Keep(Keys, start, end, Top, TopRows, Kept);
            return true;
        }
    }

    /// <summary>
    /// One pass over the cells, in order, yielding those that may hold a row at or above a floor that only rises
    /// (so a cell skipped early stays skippable), a vector of cells at a time. The slack keeps a row at exactly the
    /// floor in despite rounding (cells are a hair wider than measured too).
    /// </summary>
    private struct CellSweep(double floor)
    {
        private double _floor = floor;
        private MirrorCells.Reach _reach = new(floor - 1e-9);
        private int _at;

        /// <summary>The next cell the floor reaches, or −1 at the end.</summary>
        public int Next(ref CellSearch search)
        {
            var cells = search.Table.Cells;
            var width = Vector<double>.Count;
            while (_at < search.Dots.Length)
            {
                if (_at % width == 0 && !_reach.IncludesAny(cells, _at, search.Dots))
                {
                    _at += width;
                    continue;
                }
                var cell = _at++;
                if (_reach.Includes(cells, cell, search.Dots[cell]))
                    return cell;
            }
            return -1;
        }

        /// <summary>Raises the floor to <paramref name="higher"/> if it is higher (it never falls).</summary>
        public void Raise(ref double floor, double higher)
        {
            if (higher > _floor)
                (_floor, _reach, floor) = (higher, new MirrorCells.Reach(higher - 1e-9), higher);
        }
    }

    /// <summary>
    /// Keeps the best <c>top.Length</c> keys seen so far in <paramref name="top"/>, best first, and their rows in
    /// <paramref name="rows"/>; returns how many it holds. A row ties below the rows seen before it, as in
    /// <see cref="Alternates"/>, so the alternates read from here are the ones a pass over the ranges would find.
    /// </summary>
    private static int Keep(ReadOnlySpan<double> keys, int start, int end, Span<double> top, Span<int> rows, int kept)
    {
        var want = top.Length;
        var width = Vector<double>.Count;
        for (var i = start; i < end; i += width)
        {
            // Once full, most vectors hold nothing better than the worst kept key: one compare skips them.
            if (!Vector.GreaterThanAny(new Vector<double>(keys[i..]), new Vector<double>(kept == want ? top[want - 1] : double.NegativeInfinity)))
                continue;
            for (var j = i; j < i + width; j++)
            {
                var key = keys[j];
                if (double.IsNegativeInfinity(key) || (kept == want && key <= top[want - 1]))
                    continue;
                var at = kept < want ? kept++ : kept - 1;
                while (at > 0 && top[at - 1] < key)
                {
                    top[at] = top[at - 1];
                    rows[at] = rows[at - 1];
                    at--;
                }
                top[at] = key;
                rows[at] = j;
            }
        }
        return kept;
    }

    /// <summary>The alternates from the best-keyed rows (<see cref="Keep"/>), best first, less <paramref name="chosen"/>.</summary>
    private static int AlternatesAmong(MirrorTable t, ReadOnlySpan<int> nearest, int chosen, Span<int> alternates)
    {
        var count = 0;
        for (var k = 0; k < nearest.Length && count < alternates.Length; k++)
        {
            if (nearest[k] != chosen)
                alternates[count++] = t.Entry[nearest[k]];
        }
        return count;
    }

    /// <summary>Keys rows [<paramref name="start"/>, <paramref name="end"/>) and the scoped rows; returns the best key.</summary>
    private static double KeyRows(RoutingSnapshot snapshot, MirrorTable table, long[] serials, FileEntry file, in ClientLocation client,
        double cx, double cy, double cz, double[] keys, int start, int end)
    {
        var best = file.SetBit != 0
            ? KeyAll(table, serials, file, client.Asn, cx, cy, cz, keys, start, end)
            : KeyAllScalar(snapshot, table, serials, file, client, cx, cy, cz, keys, start, end);
        for (var s = 0; s < table.Scoped.Length; s++)
        {
            var row = table.Scoped[s];
            var r = snapshot.Mirrors[table.Entry[row]].Record;
            if (Eligibility.Fresh(serials[row], file) && Eligibility.Carries(table.ScopedSetMask[s], file, r) && Eligibility.InScope(r, client))
            {
                keys[row] = Key(table, row, client.Asn, cx, cy, cz);
                best = Math.Max(best, keys[row]);
            }
        }
        return best;
    }

    private static double KeyAll(MirrorTable t, long[] serials, FileEntry file, long asn, double cx, double cy, double cz, double[] keys, int start, int end)
    {
        var width = Vector<double>.Count;
        var vx = new Vector<double>(cx);
        var vy = new Vector<double>(cy);
        var vz = new Vector<double>(cz);
        var changedAt = new Vector<long>(file.ChangedAt);
        var setBit = new Vector<ulong>(file.SetBit);
        var clientAsn = new Vector<long>(asn == 0 ? -1 : asn);
        var bonus = new Vector<double>(AsnBonus);
        var none = new Vector<double>(double.NegativeInfinity);
        var best = none;
        for (var i = start; i < end; i += width)
        {
            var dot = new Vector<double>(t.X, i) * vx + new Vector<double>(t.Y, i) * vy + new Vector<double>(t.Z, i) * vz;
            var serves = Eligibility.FreshAndCarries(new Vector<long>(serials, i), new Vector<ulong>(t.SetMask, i), changedAt, setBit);
            var sameAsn = Vector.Equals(new Vector<long>(t.Asn, i), clientAsn);
            var key = dot + Vector.ConditionalSelect(sameAsn.As<long, double>(), bonus, Vector<double>.Zero);
            key = Vector.ConditionalSelect(serves.As<long, double>(), key, none);
            key.CopyTo(keys, i);
            best = Vector.Max(best, key);
        }
        var max = double.NegativeInfinity;
        for (var j = 0; j < width; j++)
            max = Math.Max(max, best[j]);
        return max;
    }

    /// <summary>Row by row, for a file whose set has no bit (more than 64 sets in the manifest).</summary>
    private static double KeyAllScalar(RoutingSnapshot snapshot, MirrorTable t, long[] serials, FileEntry file, in ClientLocation client,
        double cx, double cy, double cz, double[] keys, int start, int end)
    {
        var best = double.NegativeInfinity;
        for (var row = start; row < end; row++)
        {
            keys[row] = double.NegativeInfinity;
            if (t.Entry[row] < 0 || !Eligibility.Fresh(serials[row], file))
                continue;
            var r = snapshot.Mirrors[t.Entry[row]].Record;
            // Scoped rows are keyed after this pass, with their own rule.
            if (r.Scope != MirrorScope.World || !Eligibility.Carries(0, file, r))
                continue;
            keys[row] = Key(t, row, client.Asn, cx, cy, cz);
            best = Math.Max(best, keys[row]);
        }
        return best;
    }

    private static double Key(MirrorTable t, int row, long asn, double cx, double cy, double cz) =>
        t.X[row] * cx + t.Y[row] * cy + t.Z[row] * cz + (asn != 0 && t.Asn[row] == asn ? AsnBonus : 0);

    /// <summary>The near set is usually a handful of rows: up to this many are collected in one scan and drawn among.</summary>
    private const int MaxCollected = 64;

    /// <summary>
    /// Who takes part in the draw and on which weights: the rows keyed at or above <see cref="Threshold"/>,
    /// weighted by their spare now (<see cref="Estimated"/>) or as reported. <see cref="Count"/> rows in all,
    /// the first <see cref="MaxCollected"/> of them collected with their weights; <see cref="Total"/> is the
    /// sum of all their weights; <see cref="BestWithRoom"/> the best key among them with room by our estimate.
    /// </summary>
    private readonly record struct LotteryDraw(double Threshold, bool Estimated, int Count, double Total, double BestWithRoom);

    /// <summary>
    /// Sets up the lottery. The candidates are the rows that may serve and, by our estimate, still have room
    /// (<see cref="Eligibility.HasRoomNow"/>): the lottery is among those near the nearest of them, drawn on
    /// their spare now. So a near mirror our own redirects filled takes no more, and the near set moves out
    /// with the nearest that has room — no mirror is sent more than its spare bandwidth while another
    /// candidate has some (DESIGN.md: a full mirror gets no new redirects). Only when every candidate is full
    /// by that estimate do the reported figures decide among the near ones: nothing is sent to the origin that
    /// a mirror would have taken. Usually the nearest row has room, and one scan both finds that out and
    /// collects the lottery; the wider search costs one more pass over the rows and happens only under saturation.
    /// <para>
    /// With <paramref name="floor"/> above −∞ only the rows keyed at or above it are known to be in
    /// <paramref name="ranges"/>: a lottery that would reach below it returns null (the caller keys every row).
    /// </para>
    /// </summary>
    private LotteryDraw? Lottery(MirrorTable t, double[] keys, double best, double floor, Span<int> rows, Span<double> weights,
        ReadOnlySpan<(int Start, int End)> ranges)
    {
        var near = NearThreshold(best);
        var lottery = Collect(t, keys, near, estimated: true, rows, weights, ranges);
        if (lottery.BestWithRoom == best)
            return lottery;
        // The nearest is full by our estimate. A near row with room is the nearest with room anywhere (every
        // other row ranks below the near ones); with none, look further.
        var roomy = double.IsNegativeInfinity(lottery.BestWithRoom) ? NearestWithRoom(t, keys, ranges) : lottery.BestWithRoom;
        if (double.IsNegativeInfinity(roomy))
            return double.IsNegativeInfinity(floor) ? Collect(t, keys, near, estimated: false, rows, weights, ranges) : null;
        var wider = NearThreshold(roomy);
        return wider >= floor && roomy >= floor ? Collect(t, keys, wider, estimated: true, rows, weights, ranges) : null;
    }

    /// <summary>Best key among the rows that may serve and still have room by our estimate, or −∞.</summary>
    private static double NearestWithRoom(MirrorTable t, double[] keys, ReadOnlySpan<(int Start, int End)> ranges)
    {
        var best = double.NegativeInfinity;
        foreach (var (start, end) in ranges)
        {
            for (var j = start; j < end; j++)
            {
                if (keys[j] > best && Eligibility.HasRoomNow(t.WeightNow(j)))
                    best = keys[j];
            }
        }
        return best;
    }

    private static double WeightOf(MirrorTable t, int row, bool estimated) => estimated ? t.WeightNow(row) : t.Weight[row];

    /// <summary>One vector scan: the rows keyed at or above <paramref name="threshold"/> with their weights.</summary>
    private static LotteryDraw Collect(MirrorTable t, double[] keys, double threshold, bool estimated, Span<int> rows, Span<double> weights,
        ReadOnlySpan<(int Start, int End)> ranges)
    {
        var count = 0;
        double total = 0;
        var bestWithRoom = double.NegativeInfinity;
        var width = Vector<double>.Count;
        var limit = new Vector<double>(threshold);
        foreach (var (start, end) in ranges)
        {
            for (var i = start; i < end; i += width)
            {
                if (!Vector.GreaterThanOrEqualAny(new Vector<double>(keys, i), limit))
                    continue;
                for (var j = i; j < i + width; j++)
                {
                    var key = keys[j];
                    if (key < threshold)
                        continue;
                    var weight = WeightOf(t, j, estimated);
                    total += weight;
                    if (key > bestWithRoom && Eligibility.HasRoomNow(estimated ? weight : t.WeightNow(j)))
                        bestWithRoom = key;
                    if (count < MaxCollected)
                    {
                        rows[count] = j;
                        weights[count] = weight;
                    }
                    count++;
                }
            }
        }
        return new LotteryDraw(threshold, estimated, count, total, bestWithRoom);
    }

    /// <summary>A row of the lottery drawn with probability ∝ its weight (a row of weight 0 is never drawn while another has weight).</summary>
    private int Draw(MirrorTable t, double[] keys, in LotteryDraw lottery, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights,
        ReadOnlySpan<(int Start, int End)> ranges)
    {
        var ticket = _random.NextDouble() * lottery.Total;
        if (lottery.Count <= MaxCollected)
        {
            for (var k = 0; k < lottery.Count; k++)
            {
                ticket -= weights[k];
                if (ticket < 0 && weights[k] > 0)
                    return rows[k];
            }
            return LastWeighted(rows[..lottery.Count], weights[..lottery.Count]); // rounding left the ticket just past the last one
        }
        var chosen = -1;
        foreach (var (start, end) in ranges)
        {
            for (var j = start; j < end; j++)
            {
                if (keys[j] < lottery.Threshold)
                    continue;
                var weight = WeightOf(t, j, lottery.Estimated);
                if (weight > 0 || chosen < 0)
                    chosen = j;
                ticket -= weight;
                if (ticket < 0 && weight > 0)
                    return j;
            }
        }
        return chosen;
    }

    private static int LastWeighted(ReadOnlySpan<int> rows, ReadOnlySpan<double> weights)
    {
        for (var k = rows.Length - 1; k > 0; k--)
        {
            if (weights[k] > 0)
                return rows[k];
        }
        return rows[0];
    }

    /// <summary>Fills <paramref name="alternates"/> with the best-keyed rows other than <paramref name="chosen"/>, best first.</summary>
    private static int Alternates(MirrorTable t, double[] keys, int chosen, Span<int> alternates, ReadOnlySpan<(int Start, int End)> ranges)
    {
        var want = alternates.Length;
        if (want == 0)
            return 0;
        Span<double> altKeys = stackalloc double[16];
        var count = 0;
        var width = Vector<double>.Count;
        var floor = double.NegativeInfinity;
        foreach (var (start, end) in ranges)
        {
            for (var i = start; i < end; i += width)
            {
                // Most vectors hold nothing better than the current worst alternate: one compare skips them.
                if (!Vector.GreaterThanAny(new Vector<double>(keys, i), new Vector<double>(floor)))
                    continue;
                for (var j = i; j < i + width; j++)
                {
                    var key = keys[j];
                    if (j == chosen || key <= floor)
                        continue;
                    var at = count < want ? count++ : count - 1;
                    while (at > 0 && altKeys[at - 1] < key)
                    {
                        altKeys[at] = altKeys[at - 1];
                        alternates[at] = alternates[at - 1];
                        at--;
                    }
                    altKeys[at] = key;
                    alternates[at] = t.Entry[j];
                    if (count == want)
                        floor = altKeys[count - 1];
                }
            }
        }
        return count;
    }

    /// <summary>
    /// Lowest key still "near" the best one: within the same ASN tier, and within NearFactor × the
    /// nearest distance or NearDistanceKm beyond it, whichever is wider.
    /// </summary>
    private double NearThreshold(double best)
    {
        var tier = best > 2 ? AsnBonus : 0;
        var nearestArc = Math.Acos(Math.Clamp(best - tier, -1, 1));
        var arc = Math.Max(nearestArc * _nearFactor, nearestArc + _nearRadians);
        // The small slack keeps mirrors at exactly the same spot as the nearest inside despite rounding.
        return (arc >= Math.PI ? -1 : Math.Cos(arc)) + tier - 1e-9;
    }

    /// <summary>
    /// Every mirror with its distance and, for candidates, rank order, whether it is in the lottery and
    /// its chance of being the target; excluded ones carry the reason (<see cref="Eligibility.Check"/>). For
    /// the mirror list, not the redirect path: allocates freely. The chances come from <see cref="Select"/>'s
    /// own steps — the same keys, the same lottery set-up (<see cref="Lottery"/>) and weights — so they are
    /// the probabilities the draw uses, including its last resort: when our own redirects have filled every
    /// candidate, the reported figures decide, and the list shows those chances rather than no candidate at all.
    /// </summary>
    public List<MirrorVerdict> Explain(RoutingSnapshot snapshot, FileEntry file, in ClientLocation client, bool https)
    {
        var table = https ? snapshot.Https : snapshot.Http;
        var (cx, cy, cz) = client.HasCoordinates ? SnapshotBuilder.UnitVector(client.Latitude, client.Longitude) : _default;
        var keys = new double[table.Serial.Length];
        var rowOf = new int[snapshot.Mirrors.Length];
        Array.Fill(rowOf, -1);
        for (var row = 0; row < table.Serial.Length; row++)
        {
            if (table.Entry[row] >= 0)
                rowOf[table.Entry[row]] = row;
        }

        // Every row keyed, as Select's fallback keys them (its cells only skip rows that cannot matter).
        ReadOnlySpan<(int Start, int End)> all = [(0, table.Serial.Length)];
        var best = table.Count == 0 ? double.NegativeInfinity
            : KeyRows(snapshot, table, snapshot.SerialsFor(file, https), file, client, cx, cy, cz, keys, 0, table.Serial.Length);
        var lottery = new LotteryDraw(double.PositiveInfinity, Estimated: true, 0, 0, double.NegativeInfinity);
        if (!double.IsNegativeInfinity(best))
            lottery = Lottery(table, keys, best, double.NegativeInfinity, stackalloc int[MaxCollected], stackalloc double[MaxCollected], all)!.Value;

        var verdicts = new List<MirrorVerdict>(snapshot.Mirrors.Length);
        for (var i = 0; i < snapshot.Mirrors.Length; i++)
        {
            var mirror = snapshot.Mirrors[i];
            var r = mirror.Record;
            var (x, y, z) = SnapshotBuilder.UnitVector(r.Latitude, r.Longitude);
            var dot = x * cx + y * cy + z * cz;
            var sameAsn = client.Asn != 0 && r.Asn == client.Asn;
            var exclusion = Eligibility.Check(snapshot, mirror, file, client, https, lottery.Estimated);
            var row = rowOf[i];
            var inLottery = exclusion == Exclusion.None && row >= 0 && keys[row] >= lottery.Threshold;
            var chance = inLottery && lottery.Total > 0 ? WeightOf(table, row, lottery.Estimated) / lottery.Total : 0;
            var distance = Math.Acos(Math.Clamp(dot, -1, 1)) * GreatCircle.EarthRadiusKm;
            verdicts.Add(new MirrorVerdict(mirror, distance, sameAsn, exclusion, dot + (sameAsn ? AsnBonus : 0), inLottery, chance));
        }
        // Candidates first, in rank order; then the excluded, nearest first.
        verdicts.Sort(static (a, b) =>
        {
            bool ac = a.Exclusion == Exclusion.None, bc = b.Exclusion == Exclusion.None;
            return ac != bc ? (ac ? -1 : 1) : b.Key.CompareTo(a.Key);
        });
        return verdicts;
    }
}
