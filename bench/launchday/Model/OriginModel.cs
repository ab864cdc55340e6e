using Downloads.Contracts.Identity;
using Downloads.Origin.Limits;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Downloads.LaunchDay.Model;

/// <summary>
/// The origin as the models see it: a link of <see cref="BandwidthBps"/> shared equally by the transfers it has
/// admitted (each also held to its own speed, the rest going to those that can use it), admitted by the real
/// <see cref="OriginAdmission"/> with the given limits (the shipped <see cref="OriginLimitsOptions"/> by default):
/// at most <c>MaxRequests</c> at once, public clients only what is left above <c>ReservedForMirrors</c> and at most
/// <c>PerClient</c> each (429 beyond it, 503 when their share is full); a mirror's request — one the middleware would
/// have found signed, which the model takes as given — may use all of it. The permit is held for the whole transfer,
/// as the middleware holds it until the response has been sent. With <c>LinkBitsPerSecond</c> set, the link is shared
/// as <see cref="OriginPacer"/> shares it (<see cref="BandwidthShare"/>, the same decision): while any mirror flow is
/// open, the public flows together get at most link × (1 − <c>MirrorBandwidthShare</c>) and the mirrors what they leave.
/// </summary>
internal sealed class OriginModel : IDisposable
{
    private readonly OriginAdmission _admission;
    private readonly List<Flow> _flows = [];
    private int _public;

    public OriginModel(double bandwidthBps, OriginLimitsOptions limits)
    {
        BandwidthBps = bandwidthBps;
        Limits = limits;
        // Signatures are not checked here (Admit takes the mirror's id as verified), so the key directory is never started.
        // No body passes through the admission's pacer here (Step applies the same policy), so it gets no link to pace.
        _admission = new OriginAdmission(Options.Create(limits),
            new MirrorKeyDirectory(null!, TimeProvider.System, NullLogger<MirrorKeyDirectory>.Instance), new NonceCache(16),
            new OriginPacer(Options.Create(new OriginLimitsOptions()), TimeProvider.System), TimeProvider.System, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), NullLogger<OriginAdmission>.Instance);
    }

    public double BandwidthBps { get; }
    public OriginLimitsOptions Limits { get; }
    public int Open => _flows.Count;
    public int OpenPublic => _public;
    public int OpenMirror => _flows.Count - _public;

    /// <summary>Bits/s the origin sent in the last step, and of those to mirrors.</summary>
    public double SentBps { get; private set; }
    public double SentToMirrorsBps { get; private set; }

    /// <summary>A transfer the origin carries: <see cref="Left"/> bits to go at up to <see cref="MaxBps"/>.</summary>
    internal sealed class Flow(bool mirror, double bits, double maxBps, IDisposable permit)
    {
        public bool Mirror { get; } = mirror;
        public double MaxBps { get; } = maxBps;
        public IDisposable Permit { get; } = permit;
        public double Left { get; set; } = bits;
        public double Bps { get; set; }
        public bool Done => Left <= 0;
    }

    /// <summary>
    /// Admits a request of <paramref name="client"/> (an address key), or of the mirror <paramref name="mirrorId"/>:
    /// 200 and the flow, or 429 / 503.
    /// </summary>
    public (int Status, Flow? Flow) Admit(UInt128 client, string? mirrorId, double bits, double maxBps)
    {
        var (outcome, permit) = _admission.Admit(new OriginAdmission.Request(mirrorId, client));
        if (outcome == OriginAdmission.Outcome.PerClient)
            return (429, null);
        if (outcome == OriginAdmission.Outcome.Full)
            return (503, null);
        var flow = new Flow(mirrorId is not null, bits, maxBps, permit!);
        _flows.Add(flow);
        if (!flow.Mirror)
            _public++;
        return (200, flow);
    }

    /// <summary>
    /// Moves <paramref name="seconds"/> of bytes: max-min fair shares of the link, the public flows together held to
    /// their share while a mirror flow is open; finished flows release their permits.
    /// </summary>
    public void Step(double seconds)
    {
        _flows.Sort((a, b) => a.MaxBps.CompareTo(b.MaxBps));
        var publicCap = BandwidthShare.PublicBytesPerSecond(Limits, mirrorActive: OpenMirror > 0) * 8;
        var toPublic = Fill(null, BandwidthBps);
        if (toPublic > publicCap)
        {
            // Work-conserving: the public shares its cap, the mirrors share all the public leaves of the link.
            toPublic = Fill(false, publicCap);
            Fill(true, BandwidthBps - toPublic);
        }
        double sent = 0, toMirrors = 0;
        foreach (var flow in _flows)
        {
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
            flow.Permit.Dispose();
            if (!flow.Mirror)
                _public--;
        }
    }

    /// <summary>
    /// Water-filling of <paramref name="budget"/> bits/s over the flows of one class (<paramref name="mirror"/>; null: all),
    /// sorted by speed: flows slower than the equal share keep their speed, the rest share what is left. Returns what
    /// the public flows among them got.
    /// </summary>
    private double Fill(bool? mirror, double budget)
    {
        var count = 0;
        foreach (var flow in _flows)
        {
            if (mirror is null || flow.Mirror == mirror)
                count++;
        }
        double toPublic = 0;
        foreach (var flow in _flows)
        {
            if (mirror is not null && flow.Mirror != mirror)
                continue;
            flow.Bps = Math.Min(flow.MaxBps, budget / count--);
            budget -= flow.Bps;
            if (!flow.Mirror)
                toPublic += flow.Bps;
        }
        return toPublic;
    }

    public void Dispose()
    {
        foreach (var flow in _flows)
            flow.Permit.Dispose();
        _admission.Dispose();
    }
}
