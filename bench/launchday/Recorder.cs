namespace Downloads.LaunchDay;

/// <summary>Per-second buckets of what happened: latencies, redirects per mirror, refusals, and each mirror's rate (100 ms samples).</summary>
internal sealed class Recorder
{
    private readonly Lock _gate = new();
    private readonly List<double>[] _latencies;
    private readonly int[,] _redirects;   // [second, mirror]; mirror index == count is the origin/fallback
    private readonly double[,] _rateMax;  // [second, mirror] bits/s
    private readonly double[,] _rateSum;
    private readonly int[] _samples;
    private readonly Dictionary<SimMirror, int> _index;

    public Recorder(SimMirror[] mirrors, int seconds)
    {
        Mirrors = mirrors;
        Seconds = seconds;
        _index = mirrors.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        _latencies = new List<double>[seconds];
        for (var i = 0; i < seconds; i++)
            _latencies[i] = [];
        _redirects = new int[seconds, mirrors.Length + 1];
        _rateMax = new double[seconds, mirrors.Length];
        _rateSum = new double[seconds, mirrors.Length];
        _samples = new int[seconds];
        RefusedBy = [];
    }

    public SimMirror[] Mirrors { get; }
    public int Seconds { get; }
    public int SkippedCount { get; private set; }
    public Dictionary<int, int> RefusedBy { get; }

    private int Bucket(double t) => Math.Clamp((int)t, 0, Seconds - 1);

    public void Redirect(double t, double ms, SimMirror? mirror)
    {
        var s = Bucket(t);
        lock (_gate)
        {
            _latencies[s].Add(ms);
            _redirects[s, mirror is null ? Mirrors.Length : _index[mirror]]++;
        }
    }

    public void Refused(double t, int status)
    {
        lock (_gate)
            RefusedBy[status] = RefusedBy.GetValueOrDefault(status) + 1;
    }

    public void Skipped(double t)
    {
        lock (_gate)
            SkippedCount++;
    }

    public void Sample(double t, int mirror, double bps)
    {
        var s = Bucket(t);
        lock (_gate)
        {
            _rateMax[s, mirror] = Math.Max(_rateMax[s, mirror], bps);
            _rateSum[s, mirror] += bps;
            if (mirror == 0)
                _samples[s]++;
        }
    }

    public IReadOnlyList<double> Latencies(int second) => _latencies[second];

    public int Redirects(int second, int mirror) => _redirects[second, mirror];

    public double RateMax(int second, int mirror) => _rateMax[second, mirror];

    public double RateMean(int second, int mirror) => _samples[second] == 0 ? 0 : _rateSum[second, mirror] / _samples[second];
}
