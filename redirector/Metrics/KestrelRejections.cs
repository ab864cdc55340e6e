using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace Downloads.Redirector.Metrics;

/// <summary>
/// What Kestrel refuses itself, before the application sees a request (so no counter of ours can): read from
/// Kestrel's own meter, <c>Microsoft.AspNetCore.Server.Kestrel</c>. <c>kestrel.rejected_connections</c> counts
/// connections closed at the cap (<c>Limits:MaxConcurrentConnections</c>); the <c>error.type</c> of
/// <c>kestrel.connection.duration</c> names why a connection ended in error — a 431
/// (<c>max_request_headers_total_size_exceeded</c>, <c>max_request_header_count_exceeded</c>), a 414 or a bad
/// request line (<c>invalid_request_line</c>), a slow client (<c>request_headers_timeout</c>), … Only this app's
/// meter (its <see cref="IMeterFactory"/> is the meter's scope: tests run several apps in one process) and only
/// these two instruments: one callback when a connection ends, none per request on a kept-alive connection.
/// Exported as <c>downloads_kestrel_rejected_connections_total</c> and
/// <c>downloads_kestrel_connection_errors_total{error_type}</c>, and shown on <c>/-/ops</c>.
/// </summary>
internal sealed class KestrelRejections : IDisposable
{
    public const string MeterName = "Microsoft.AspNetCore.Server.Kestrel";
    private const string RejectedInstrument = "kestrel.rejected_connections";
    private const string DurationInstrument = "kestrel.connection.duration";
    private const string ErrorTag = "error.type";

    /// <summary>Error types kept apart; Kestrel's are a fixed enum of a few dozen, the rest would share <c>other</c>.</summary>
    private const int MaxErrorTypes = 64;

    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<string, Counting.Counter> _errors = new(StringComparer.Ordinal);
    private readonly Counting.Counter _rejected = new();

    public KestrelRejections(IMeterFactory meters, IMetricFactory factory, CollectorRegistry registry)
    {
        var rejected = factory.CreateCounter("downloads_kestrel_rejected_connections_total",
            "Connections Kestrel closed at once because Limits:MaxConcurrentConnections were open (kestrel.rejected_connections).");
        var errors = factory.CreateCounter("downloads_kestrel_connection_errors_total",
            "Connections Kestrel ended with an error, by its error.type (kestrel.connection.duration): 431, 414 and other refusals the application never sees.",
            ["error_type"]);
        registry.AddBeforeCollectCallback(() =>
        {
            rejected.IncTo(_rejected.Peek());
            foreach (var (type, counter) in _errors)
                errors.WithLabels(type).IncTo(counter.Peek());
        });
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == MeterName && ReferenceEquals(instrument.Meter.Scope, meters)
                    && instrument.Name is RejectedInstrument or DurationInstrument)
                    listener.EnableMeasurementEvents(instrument);
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => _rejected.Add(value));
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == ErrorTag && tag.Value is string type)
                {
                    Error(type).Increment();
                    return;
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Connections closed at the connection cap since start.</summary>
    public long RejectedConnections => _rejected.Peek();

    /// <summary>Since start: the connection cap's rejections, then each error type, busiest first.</summary>
    public Ops.CountEntry[] Snapshot()
    {
        var list = new List<Ops.CountEntry> { new("rejected_connections", _rejected.Peek()) };
        foreach (var (type, counter) in _errors)
            list.Add(new(type, counter.Peek()));
        list.Sort(static (a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.Key, b.Key));
        return [.. list];
    }

    private Counting.Counter Error(string type)
    {
        if (_errors.TryGetValue(type, out var counter))
            return counter;
        if (_errors.Count >= MaxErrorTypes)
            type = "other";
        return _errors.GetOrAdd(type, static _ => new Counting.Counter());
    }

    public void Dispose() => _listener.Dispose();
}
