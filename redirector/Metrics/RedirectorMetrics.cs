using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Prometheus;
using Outcome = Downloads.Redirector.Counting.Outcome;
using Outcomes = Downloads.Redirector.Counting.Outcomes;

namespace Downloads.Redirector.Metrics;

/// <summary>
/// The redirector's Prometheus metrics, created in the app's own registry (several apps share a test
/// process). Request-path counters are prometheus-net children resolved once; per-mirror gauges are
/// read from the current snapshot just before each scrape, so the request path pays nothing for them.
/// </summary>
internal sealed class RedirectorMetrics
{
    /// <summary>
    /// Series each mirror adds to a scrape: the 12 per-mirror gauges, its redirect counter and its health-check
    /// counter by result (ok, fail). The budget is this × 10,000 mirrors per redirector (docs/ops.md, "Series
    /// budget"); a new per-mirror metric raises it and must be weighed against it.
    /// </summary>
    public const int SeriesPerMirror = 18;

    private readonly Counter _redirects;
    private readonly Counting.Counter[] _answered = new Counting.Counter[Outcomes.Count];
    private readonly Counter _rateLimited;
    private readonly Counter _mirrorRedirects;
    private readonly Counter _flushFailures;
    private readonly Gauge _pending;
    private readonly Counter _healthChecks;
    private readonly Histogram _probeSeconds;
    private readonly Gauge _manifestSerial;
    private readonly Gauge _heartbeatPanic;
    private readonly Gauge _manifestExpired;
    private readonly Gauge _degraded;
    private readonly Gauge.Child _manifestKeyCurrent;
    private readonly Gauge.Child _manifestKeyNext;
    private readonly Gauge _mirrorUp;
    private readonly Gauge _mirrorHealthy;
    private readonly Gauge _mirrorCandidate;
    private readonly Gauge _mirrorRate;
    private readonly Gauge _mirrorCapacity;
    private readonly Gauge _mirrorBytes;
    private readonly Gauge _mirrorRequests;
    private readonly Gauge _mirrorConnections;
    private readonly Gauge _mirrorSerial;
    private readonly Gauge _mirrorLag;
    private readonly Gauge _mirrorMonthBytes;
    private readonly Gauge _mirrorQuota;
    private readonly Gauge _mirrorPace;
    private readonly Gauge _mirrorExhaustion;
    private readonly Gauge _mirrorExhaustionWarning;
    private readonly Gauge[] _perMirror;
    private readonly Lock _update = new();
    private HashSet<string> _labelled = new(StringComparer.Ordinal);

    public RedirectorMetrics(IMetricFactory factory, CollectorRegistry registry, SnapshotHolder holder)
    {
        for (var i = 0; i < _answered.Length; i++)
            _answered[i] = new Counting.Counter();
        _redirects = factory.CreateCounter("downloads_redirects_total",
            "Answers to GET|HEAD /{path} by outcome (mirror and fallback: GET redirects; head; metalink; mirrorlist; checksums; not_found; bad_request). "
            + "Requests refused with 429 are downloads_rate_limited_total.", ["outcome"]);
        var bounds = Histogram.ExponentialBuckets(0.000_000_25, 2, 14);
        Selection = new LatencyRecorder(factory.CreateHistogram("downloads_selection_seconds",
            "Time to choose a mirror and its alternates for one redirect (sum counted at bucket upper bounds).",
            labelNames: [], new HistogramConfiguration { Buckets = bounds }), bounds);
        var requestBounds = Histogram.ExponentialBuckets(0.000_002, 2, 16);
        Request = new LatencyRecorder(factory.CreateHistogram("downloads_redirect_duration_seconds",
            "Time to answer GET|HEAD /{path}, every outcome, from the handler's start until the answer is handed to the server (sum counted at bucket upper bounds).",
            labelNames: [], new HistogramConfiguration { Buckets = requestBounds }), requestBounds);
        _rateLimited = factory.CreateCounter("downloads_rate_limited_total", "Requests refused with 429 by the per-client rate limit (RateLimit:*).");
        _mirrorRedirects = factory.CreateCounter("downloads_mirror_redirects_total",
            "Redirects to each mirror (origin: fallbacks), counted when the counters are drained (every Redirector:CounterFlushSeconds).", ["mirror"]);
        _flushFailures = factory.CreateCounter("downloads_stats_flush_failures_total", "Flushes of the counted statistics that Redis did not take (kept in memory and retried).");
        _pending = factory.CreateGauge("downloads_stats_pending_redirects", "Redirects counted in memory and not yet acknowledged by Redis.");
        _healthChecks = factory.CreateCounter("downloads_health_checks_total", "Active health probes run by this redirector, by mirror and result.", ["mirror", "result"]);
        _probeSeconds = factory.CreateHistogram("downloads_health_probe_seconds", "Duration of active health probes.",
            labelNames: [], new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
        _manifestSerial = factory.CreateGauge("downloads_manifest_serial", "Serial of the verified manifest the redirector routes with.");
        _degraded = factory.CreateGauge("downloads_redirector_degraded",
            "1 while /-/health says degraded: no mirror to send a client to, routing from saved state, or an expired manifest (the reasons are in /-/health).");
        _manifestExpired = factory.CreateGauge("downloads_manifest_expired",
            "1 while the manifest the redirector routes with is past its signed expires time (it keeps routing with it; the origin should have re-signed).");
        var manifestKey = factory.CreateGauge("downloads_manifest_key",
            "1 for the pinned key (current or next) that verified the manifest the redirector routes with: during a key rotation, shows when it has moved.", ["key"]);
        _manifestKeyCurrent = manifestKey.WithLabels("current");
        _manifestKeyNext = manifestKey.WithLabels("next");
        _heartbeatPanic = factory.CreateGauge("downloads_heartbeat_panic",
            "1 while most serving mirrors are silent at once and a missing heartbeat excludes nobody (Redirector:HeartbeatPanicPercent).");
        _mirrorUp = factory.CreateGauge("downloads_mirror_up", "1 while the mirror's heartbeat is fresh.", ["mirror"]);
        _mirrorHealthy = factory.CreateGauge("downloads_mirror_healthy", "1 while the mirror passes active health checks.", ["mirror"]);
        _mirrorCandidate = factory.CreateGauge("downloads_mirror_candidate", "1 when the mirror may take traffic now (no standing exclusion).", ["mirror"]);
        _mirrorRate = factory.CreateGauge("downloads_mirror_rate_bytes_per_second", "Outbound rate the mirror reported last.", ["mirror"]);
        _mirrorCapacity = factory.CreateGauge("downloads_mirror_capacity_bytes_per_second", "Capacity of the mirror (ops' value, else declared).", ["mirror"]);
        _mirrorBytes = factory.CreateGauge("downloads_mirror_served_bytes", "Bytes the mirror reports having served since it started.", ["mirror"]);
        _mirrorRequests = factory.CreateGauge("downloads_mirror_served_requests", "Requests the mirror reports having served since it started.", ["mirror"]);
        _mirrorConnections = factory.CreateGauge("downloads_mirror_connections", "Open client connections the mirror reports.", ["mirror"]);
        _mirrorSerial = factory.CreateGauge("downloads_mirror_serial", "Manifest serial the mirror's live tree is verified at.", ["mirror"]);
        _mirrorLag = factory.CreateGauge("downloads_mirror_sync_lag_serials", "Serials the mirror is behind the redirector's manifest.", ["mirror"]);
        _mirrorMonthBytes = factory.CreateGauge("downloads_mirror_month_bytes", "Bytes the mirror served this billing period (its billing day to the same day next month, UTC; by default the calendar month).", ["mirror"]);
        _mirrorQuota = factory.CreateGauge("downloads_mirror_quota_bytes", "Quota of the mirror per billing period, 0 for none.", ["mirror"]);
        _mirrorPace = factory.CreateGauge("downloads_mirror_quota_pace_ratio",
            "Share of its capacity the mirror's quota budget allows now (1 unpaced, 0 at its allowance or past the ceiling; docs/launch-day.md).", ["mirror"]);
        _mirrorExhaustion = factory.CreateGauge("downloads_mirror_quota_exhaustion_timestamp_seconds",
            "Unix time the mirror's quota runs out at its current rate, over Redirector:QuotaForecastWindowSeconds (else its mean so far this billing period) (+Inf: no quota or no use; docs/launch-day.md).", ["mirror"]);
        _mirrorExhaustionWarning = factory.CreateGauge("downloads_mirror_quota_exhaustion_warning",
            "1 when the mirror's quota is forecast to run out before its billing period ends, else 0.", ["mirror"]);
        _perMirror = [_mirrorUp, _mirrorHealthy, _mirrorCandidate, _mirrorRate, _mirrorCapacity, _mirrorBytes, _mirrorRequests,
            _mirrorConnections, _mirrorSerial, _mirrorLag, _mirrorMonthBytes, _mirrorQuota, _mirrorPace, _mirrorExhaustion, _mirrorExhaustionWarning];
        registry.AddBeforeCollectCallback(() =>
        {
            // Two scrapes at once must not interleave their label bookkeeping.
            lock (_update)
                Update(holder.Current);
        });
    }

    // The request path bumps these plain interlocked counters; they are copied into Prometheus at scrape time.
    public Counting.Counter Answered(Outcome outcome) => _answered[(int)outcome];
    public Counting.Counter Mirror => Answered(Outcome.Mirror);
    public Counting.Counter Fallback => Answered(Outcome.Fallback);
    public Counting.Counter RateLimited => Answered(Outcome.RateLimited);
    public LatencyRecorder Selection { get; }
    public LatencyRecorder Request { get; }

    public void MirrorRedirects(string id, long delta) => _mirrorRedirects.WithLabels(id).Inc(delta);

    public void FlushFailed() => _flushFailures.Inc();

    public void SetPending(long redirects) => _pending.Set(redirects);

    /// <summary>
    /// Whether the redirector is degraded, and whether for an expired manifest, as Health/ sees it at each scrape
    /// (<c>Health/DegradationMetrics</c>; Metrics/ knows nothing of Health/).
    /// </summary>
    public void SetDegradation(bool degraded, bool manifestExpired)
    {
        _degraded.Set(degraded ? 1 : 0);
        _manifestExpired.Set(manifestExpired ? 1 : 0);
    }

    /// <summary>One active health probe of mirror <paramref name="id"/> (Health/ calls this; Metrics/ knows nothing of Health/).</summary>
    public void RecordProbe(string id, bool ok, double latencyMs)
    {
        _healthChecks.WithLabels(id, ok ? "ok" : "fail").Inc();
        _probeSeconds.Observe(latencyMs / 1000);
    }

    private void Update(RoutingSnapshot snapshot)
    {
        foreach (var outcome in Outcomes.All)
        {
            // Kept apart, as before every request was counted: alert rules add the two.
            if (outcome != Outcome.RateLimited)
                _redirects.WithLabels(Outcomes.Name(outcome)).IncTo(Answered(outcome).Peek());
        }
        _rateLimited.IncTo(RateLimited.Peek());
        Selection.Publish();
        Request.Publish();
        var serial = snapshot.Index.Serial;
        _manifestSerial.Set(serial);
        _manifestKeyCurrent.Set(snapshot.Index.VerifiedBy == Contracts.Manifests.PinnedKey.Current ? 1 : 0);
        _manifestKeyNext.Set(snapshot.Index.VerifiedBy == Contracts.Manifests.PinnedKey.Next ? 1 : 0);
        _heartbeatPanic.Set(snapshot.HeartbeatPanic ? 1 : 0);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in snapshot.Mirrors)
        {
            var m = entry.Record;
            seen.Add(m.Id);
            _mirrorUp.WithLabels(m.Id).Set(m.Alive ? 1 : 0);
            _mirrorHealthy.WithLabels(m.Id).Set(m.Healthy ? 1 : 0);
            _mirrorCandidate.WithLabels(m.Id).Set(Eligibility.Standing(snapshot, entry) == Exclusion.None ? 1 : 0);
            _mirrorRate.WithLabels(m.Id).Set(m.RateBps);
            _mirrorCapacity.WithLabels(m.Id).Set(Bandwidth.BytesPerSecond(m.CapacityMbps));
            _mirrorBytes.WithLabels(m.Id).Set(m.BytesServed);
            _mirrorRequests.WithLabels(m.Id).Set(m.Requests);
            _mirrorConnections.WithLabels(m.Id).Set(m.Connections);
            _mirrorSerial.WithLabels(m.Id).Set(m.Serial);
            _mirrorLag.WithLabels(m.Id).Set(snapshot.Index.IsLoaded ? Math.Max(0, serial - m.Serial) : 0);
            _mirrorMonthBytes.WithLabels(m.Id).Set(m.MonthBytes);
            _mirrorQuota.WithLabels(m.Id).Set(m.QuotaBytes);
            _mirrorPace.WithLabels(m.Id).Set(entry.Pace);
            // Read once: the refresher may replace it between the two gauges.
            var forecast = entry.Forecast;
            _mirrorExhaustion.WithLabels(m.Id).Set(forecast.RunsOutAt is { } at ? at.ToUnixTimeSeconds() : double.PositiveInfinity);
            _mirrorExhaustionWarning.WithLabels(m.Id).Set(forecast.Warning ? 1 : 0);
        }
        // A removed mirror's series disappear rather than freezing at their last value.
        foreach (var gone in _labelled)
        {
            if (seen.Contains(gone))
                continue;
            foreach (var gauge in _perMirror)
                gauge.RemoveLabelled(gone);
        }
        _labelled = seen;
    }
}
