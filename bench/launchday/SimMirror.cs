using System.Globalization;
using Downloads.Contracts.Redis;
using StackExchange.Redis;

namespace Downloads.LaunchDay;

/// <summary>
/// A simulated mirror: no bytes move. Each redirect it receives becomes a transfer of the file's
/// (scaled) size at the client's speed; its served rate is the sum of the transfers in progress, and
/// it reports that rate (bytes/s) and a heartbeat through the real <see cref="MirrorStore.ReportAsync"/>.
/// </summary>
internal sealed class SimMirror(string id, string country, double lat, double lon, double hostGbps)
{
    private readonly Lock _gate = new();
    private readonly PriorityQueue<double, double> _ends = new(); // rate (bits/s) by end time (s)
    private double _rateBps; // bits/s in progress
    private long _requests; // transfers started

    public string Id { get; } = id;
    public string Country { get; } = country;
    public double Latitude { get; } = lat;
    public double Longitude { get; } = lon;
    /// <summary>The site's capacity: <see cref="Scenario.HostsPerSite"/> hosts of the nominal size.</summary>
    public double CapacityGbps { get; } = hostGbps * Scenario.HostsPerSite;
    public string Url => $"http://{Id}.mirrors.example";
    public bool Dead { get; private set; }

    /// <summary>Starts a transfer at <paramref name="now"/> seconds.</summary>
    public void Start(double now, double bits, double clientBps)
    {
        lock (_gate)
        {
            if (Dead)
                return; // the client finds the host gone and tries an alternate (not simulated)
            _ends.Enqueue(clientBps, now + (bits / clientBps));
            _rateBps += clientBps;
            _requests++;
        }
    }

    /// <summary>Bits/s in progress at <paramref name="now"/>, after dropping the finished transfers.</summary>
    public double RateAt(double now)
    {
        lock (_gate)
        {
            while (_ends.TryPeek(out var rate, out var end) && end <= now)
            {
                _ends.Dequeue();
                _rateBps -= rate;
            }
            if (_ends.Count == 0)
                _rateBps = 0; // no drift from floating-point sums
            return _rateBps;
        }
    }

    /// <summary>The host crashes: transfers cut, no more reports (its heartbeat key then expires).</summary>
    public void Kill()
    {
        lock (_gate)
        {
            Dead = true;
            _ends.Clear();
            _rateBps = 0;
        }
    }

    public async Task RegisterAsync(IDatabase db, TimeSpan heartbeat)
    {
        await MirrorStore.AddAsync(db, Id);
        var info = new Dictionary<string, string>
        {
            [Keyspace.InfoFields.Name] = Id,
            [Keyspace.InfoFields.HttpUrl] = Url,
            [Keyspace.InfoFields.Latitude] = Latitude.ToString(CultureInfo.InvariantCulture),
            [Keyspace.InfoFields.Longitude] = Longitude.ToString(CultureInfo.InvariantCulture),
            [Keyspace.InfoFields.Country] = Country,
            [Keyspace.InfoFields.CapacityMbps] = (CapacityGbps * 1000).ToString(CultureInfo.InvariantCulture),
        };
        await MirrorStore.WriteInfoAsync(db, Id, info);
        // Ops' approval: the info becomes the approved record that redirectors route by.
        await MirrorStore.WriteApprovedAsync(db, Id, info.Where(f => f.Key != Keyspace.InfoFields.CapacityMbps).ToDictionary());
        await MirrorStore.SetConfigAsync(db, Id, (Keyspace.ConfigFields.Status, "approved"));
        await ReportAsync(db, 0, heartbeat);
    }

    /// <summary>Reports like a real mirror: rate, requests served and connections open (transfers in progress).</summary>
    public Task ReportAsync(IDatabase db, double now, TimeSpan heartbeat)
    {
        long requests, connections;
        var rate = RateAt(now);
        lock (_gate)
        {
            requests = _requests;
            connections = _ends.Count;
        }
        return MirrorStore.ReportAsync(db, Id,
        [
            new(Keyspace.StateFields.Serial, "1"),
            new(Keyspace.StateFields.RateBps, (rate / 8).ToString("F0", CultureInfo.InvariantCulture)),
            new(Keyspace.StateFields.Requests, requests.ToString(CultureInfo.InvariantCulture)),
            new(Keyspace.StateFields.Connections, connections.ToString(CultureInfo.InvariantCulture)),
        ], heartbeat, 0, DateTimeOffset.UtcNow);
    }
}
