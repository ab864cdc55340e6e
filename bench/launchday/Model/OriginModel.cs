using Downloads.Origin.Limits;

namespace Downloads.LaunchDay.Model;

/// <summary>
/// The origin as the models see it: a link of <see cref="BandwidthBps"/> shared equally by the transfers it has
/// admitted (each also held to its own speed, the rest going to those that can use it), and the admission rules
/// of <c>origin/Limits/OriginAdmission</c> with the numbers it ships with (<see cref="OriginLimitsOptions"/>): at most
/// <c>MaxRequests</c> at once, public clients only what is left above <c>ReservedForMirrors</c> and at most
/// <c>PerClient</c> each (429 beyond it, 503 when their share is full); signed mirror requests may use all of it.
/// A permit is held for the whole transfer, as the middleware holds it until the response is sent.
/// </summary>
internal sealed class OriginModel(double bandwidthBps, OriginLimitsOptions limits)
{
    private readonly List<Flow> _flows = [];
    private readonly Dictionary<int, int> _perClient = [];
    private int _public;

    public double BandwidthBps { get; } = bandwidthBps;
    public OriginLimitsOptions Limits { get; } = limits;
    public int Open => _flows.Count;
    public int OpenPublic => _public;
    public int OpenMirror => _flows.Count - _public;

    /// <summary>Bits/s the origin sent in the last step, and of those to mirrors.</summary>
    public double SentBps { get; private set; }
    public double SentToMirrorsBps { get; private set; }

    /// <summary>A transfer the origin carries: <see cref="Left"/> bits to go at up to <see cref="MaxBps"/>.</summary>
    internal sealed class Flow(int client, bool mirror, double bits, double maxBps)
    {
        public int Client { get; } = client;
        public bool Mirror { get; } = mirror;
        public double MaxBps { get; } = maxBps;
        public double Left { get; set; } = bits;
        public double Bps { get; set; }
        public bool Done => Left <= 0;
    }

    /// <summary>Admits a request or says what it gets: 200 (the flow), 429 or 503 (null).</summary>
    public (int Status, Flow? Flow) Admit(int client, bool signedMirror, double bits, double maxBps)
    {
        if (Limits.MaxRequests > 0)
        {
            if (!signedMirror && Limits.PerClient > 0 && _perClient.GetValueOrDefault(client) >= Limits.PerClient)
                return (429, null);
            if (_flows.Count >= Limits.MaxRequests || (!signedMirror && _public >= Limits.MaxRequests - Limits.ReservedForMirrors))
                return (503, null);
        }
        var flow = new Flow(client, signedMirror, bits, maxBps);
        _flows.Add(flow);
        if (!signedMirror)
        {
            _public++;
            _perClient[client] = _perClient.GetValueOrDefault(client) + 1;
        }
        return (200, flow);
    }

    /// <summary>Moves <paramref name="seconds"/> of bytes: max-min fair shares of the link; finished flows release their permits.</summary>
    public void Step(double seconds)
    {
        // Water-filling: flows slower than the equal share keep their speed, the rest share what is left.
        _flows.Sort((a, b) => a.MaxBps.CompareTo(b.MaxBps));
        var left = BandwidthBps;
        double sent = 0, toMirrors = 0;
        for (var i = 0; i < _flows.Count; i++)
        {
            var flow = _flows[i];
            flow.Bps = Math.Min(flow.MaxBps, left / (_flows.Count - i));
            left -= flow.Bps;
            var bits = Math.Min(flow.Left, flow.Bps * seconds);
            flow.Left -= bits;
            sent += bits;
            if (flow.Mirror)
                toMirrors += bits;
        }
        SentBps = sent / seconds;
        SentToMirrorsBps = toMirrors / seconds;
        for (var i = _flows.Count - 1; i >= 0; i--)
        {
            var flow = _flows[i];
            if (!flow.Done)
                continue;
            _flows.RemoveAt(i);
            if (!flow.Mirror)
            {
                _public--;
                if (--_perClient[flow.Client] == 0)
                    _perClient.Remove(flow.Client);
            }
        }
    }
}
