using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Origin.Limits;
using Downloads.Redirector;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;

namespace Downloads.LaunchDay.Model;

/// <summary>How a surge-while-syncing run is set up; the defaults are the benchmark's, a test shrinks them.</summary>
internal sealed record SyncSurgeSetup
{
    public int Seconds { get; init; } = 1800;
    /// <summary>The release is published (the manifest gains it) at this second; mirrors poll every 60 s (<c>Sync:PollInterval</c>).</summary>
    public int PublishAt { get; init; } = 55;
    public int SurgeAt { get; init; } = 60;
    public int RampSeconds { get; init; } = 30;
    /// <summary>
    /// Downloads/s before the surge. Sizes are real here (the live simulator divides them by 40), so 50/s at 10x asks
    /// ~850 Gbit/s of the mirrors, ~60% of their capacity, as the live simulator's 2000/s of scaled images does.
    /// </summary>
    public double NormalRate { get; init; } = 5;
    public double SurgeFactor { get; init; } = 10;
    /// <summary>Share of requests, once published, for the new release (the rest are older images every mirror has).</summary>
    public double NewShare { get; init; } = 0.8;
    public long ReleaseBytes { get; init; } = 2_900_000_000;
    /// <summary>
    /// The origin's link. At 4 Gbit/s the release's clients ask far more of it than it has, which is the case the
    /// reserve is for; at 5 Gbit/s and more the first mirror syncs in seconds and takes them.
    /// </summary>
    public double OriginGbps { get; init; } = 4;
    /// <summary>Parallel chunk requests of one mirror's sync (<c>Sync:Parallelism</c> as shipped).</summary>
    public int SyncParallelism { get; init; } = 2;
    /// <summary>Share of requests from a few big NATs (16 addresses), which meet the origin's per-client limit.</summary>
    public double NatShare { get; init; } = 0.02;
    public OriginLimitsOptions Limits { get; init; } = new();
    /// <summary>
    /// Whether ops told the origin its link (<c>Limits:LinkBitsPerSecond</c> = <see cref="OriginGbps"/>), which keeps
    /// <c>Limits:MirrorBandwidthShare</c> of it for syncing mirrors; false: the shipped default (0), permits only.
    /// </summary>
    public bool LinkConfigured { get; init; } = true;
    public int Seed { get; init; } = 14;

    public double RateAt(int t) =>
        t < SurgeAt ? NormalRate
        : t < SurgeAt + RampSeconds ? NormalRate * (1 + ((SurgeFactor - 1) * (t - SurgeAt) / RampSeconds))
        : NormalRate * SurgeFactor;
}

/// <summary>Per-second series and totals of a run.</summary>
internal sealed class SyncSurgeResult(int seconds, int mirrors)
{
    public double[] SyncedCapacityShare { get; } = new double[seconds];
    public double[] OriginGbps { get; } = new double[seconds];
    public double[] OriginToMirrorsGbps { get; } = new double[seconds];
    public int[] OriginOpenPublic { get; } = new int[seconds];
    public int[] OriginOpenMirror { get; } = new int[seconds];
    public int[] ToMirrors { get; } = new int[seconds];
    public int[] ToOrigin { get; } = new int[seconds];
    public int[] Refused429 { get; } = new int[seconds];
    public int[] Refused503 { get; } = new int[seconds];
    public int[] SyncedAt { get; } = Enumerable.Repeat(-1, mirrors).ToArray();
    public string[] MirrorIds { get; } = new string[mirrors];
    public int SyncRequests { get; set; }
    public int SyncRefused { get; set; }
    public int Requests { get; set; }

    /// <summary>First second at which <paramref name="share"/> of the mirrors' capacity holds the release, or -1.</summary>
    public int SecondsUntil(double share) => Array.FindIndex(SyncedCapacityShare, s => s >= share - 1e-9);

    /// <summary>Clients sent to the origin after the last mirror had the release.</summary>
    public int ToOriginAfterSynced()
    {
        var all = SyncedAt.Contains(-1) ? ToOrigin.Length : SyncedAt.Max() + 2; // the next table has it
        return ToOrigin.Skip(all).Sum();
    }
}

/// <summary>
/// A release published shortly before the surge, while the mirrors still sync it. One-second steps of simulated
/// time (no clock is read): each second the mirrors' records go through the real <see cref="SnapshotBuilder"/> and
/// each client's request through the real <see cref="MirrorSelector"/>; a mirror without the release's serial is
/// skipped, as in production, so those clients go to the origin. The origin is an <see cref="OriginModel"/>
/// (its bandwidth, and the real admission code with the shipped limits); each mirror notices the release at its next manifest poll and
/// fetches it with signed requests (<see cref="SyncSurgeSetup.SyncParallelism"/> at once, each at most half its host
/// link), retrying a refusal after Retry-After; it becomes eligible once every byte has arrived.
/// </summary>
internal static class SurgeWhileSyncing
{
    private const long OldSerial = 10;
    private const long NewSerial = 11;
    private const string Release = "os/release.img";

    private sealed class Site(SimMirror m)
    {
        public SimMirror Mirror { get; } = m;
        public List<(double End, double Bps)> Transfers { get; } = [];
        public OriginModel.Flow?[] Sync { get; set; } = [];
        public int PollAt { get; set; }
        public int RetryAt { get; set; } = -1;
        public bool Synced { get; set; }

        public double RateBps(int now)
        {
            Transfers.RemoveAll(x => x.End <= now);
            double sum = 0;
            foreach (var x in Transfers)
                sum += x.Bps;
            return sum;
        }
    }

    public static SyncSurgeResult Run(SyncSurgeSetup setup)
    {
        var random = new Random(setup.Seed);
        var options = new RedirectorOptions();
        var counters = new CounterRegistry();
        ManifestFile[] files =
        [
            .. Scenario.FileSizes.Select((size, i) => Image($"os/image-{i}.img", size, 5)),
            Image(Release, setup.ReleaseBytes, NewSerial),
        ];
        var index = ManifestIndex.Build(new Manifest { Serial = NewSerial, Published = DateTimeOffset.UnixEpoch, Files = files }, counters);
        var selector = new MirrorSelector(options, new Random(setup.Seed + 1));
        using var origin = new OriginModel(setup.OriginGbps * 1e9, setup.LinkConfigured ? WithLink(setup.Limits, setup.OriginGbps * 1e9) : setup.Limits);
        var sites = Scenario.Mirrors().Select(m => new Site(m)).ToArray();
        foreach (var site in sites)
            site.PollAt = setup.PublishAt + random.Next(60); // where each mirror is in its poll interval
        var byId = Enumerable.Range(0, sites.Length).ToDictionary(i => sites[i].Mirror.Id);
        var totalCapacity = sites.Sum(s => s.Mirror.CapacityGbps);
        var result = new SyncSurgeResult(setup.Seconds, sites.Length);
        for (var i = 0; i < sites.Length; i++)
            result.MirrorIds[i] = sites[i].Mirror.Id;
        var start = DateTimeOffset.UnixEpoch;
        RoutingSnapshot? snapshot = null;
        Span<int> picks = stackalloc int[1];
        double due = 0;

        for (var t = 0; t < setup.Seconds; t++)
        {
            var now = start.AddSeconds(t);
            var records = new MirrorRecord[sites.Length];
            for (var i = 0; i < sites.Length; i++)
                records[i] = Record(sites[i], t);
            snapshot = SnapshotBuilder.Build(index, records, options, counters, now, now, snapshot, now);

            // Clients.
            due += setup.RateAt(t);
            for (; due >= 1; due--)
            {
                result.Requests++;
                var fresh = t >= setup.PublishAt && random.NextDouble() < setup.NewShare;
                var file = fresh ? files[^1] : files[random.Next(files.Length - 1)];
                var where = Places.Next(random);
                var speed = Scenario.ClientSpeed(random);
                var address = (UInt128)(uint)(random.NextDouble() < setup.NatShare ? 1 + random.Next(16) : 17 + random.Next(1 << 24)); // 0 is no address
                if (selector.Select(snapshot, snapshot.Index.Files[file.Path], where, https: false, picks) > 0)
                {
                    var site = sites[byId[snapshot.Mirrors[picks[0]].Record.Id]];
                    site.Transfers.Add((t + (file.Size * 8.0 / speed), speed));
                    result.ToMirrors[t]++;
                    continue;
                }
                result.ToOrigin[t]++;
                var (status, _) = origin.Admit(address, mirrorId: null, file.Size * 8.0, speed);
                if (status == 429)
                    result.Refused429[t]++;
                else if (status == 503)
                    result.Refused503[t]++;
            }

            // Syncs: start at the poll after publication, retry a refusal after Retry-After.
            foreach (var site in sites)
            {
                if (site.Synced || t < site.PollAt || (site.RetryAt > t))
                    continue;
                if (site.Sync.Length == 0)
                    site.Sync = new OriginModel.Flow?[setup.SyncParallelism];
                for (var c = 0; c < site.Sync.Length; c++)
                {
                    if (site.Sync[c] is not null)
                        continue;
                    result.SyncRequests++;
                    var (_, flow) = origin.Admit(UInt128.Zero, site.Mirror.Id, setup.ReleaseBytes * 8.0 / site.Sync.Length,
                        site.Mirror.CapacityGbps / Scenario.HostsPerSite * 1e9 / site.Sync.Length);
                    if (flow is null)
                    {
                        result.SyncRefused++;
                        site.RetryAt = t + setup.Limits.RetryAfterSeconds;
                        break;
                    }
                    site.Sync[c] = flow;
                }
            }

            origin.Step(1);
            for (var i = 0; i < sites.Length; i++)
            {
                var site = sites[i];
                if (!site.Synced && site.Sync.Length > 0 && site.Sync.All(f => f is { Done: true }))
                {
                    site.Synced = true;
                    result.SyncedAt[i] = t;
                }
            }
            result.SyncedCapacityShare[t] = sites.Where(s => s.Synced).Sum(s => s.Mirror.CapacityGbps) / totalCapacity;
            result.OriginGbps[t] = origin.SentBps / 1e9;
            result.OriginToMirrorsGbps[t] = origin.SentToMirrorsBps / 1e9;
            result.OriginOpenPublic[t] = origin.OpenPublic;
            result.OriginOpenMirror[t] = origin.OpenMirror;
        }
        return result;
    }

    private static OriginLimitsOptions WithLink(OriginLimitsOptions limits, double bitsPerSecond) => new()
    {
        MaxRequests = limits.MaxRequests,
        ReservedForMirrors = limits.ReservedForMirrors,
        PerClient = limits.PerClient,
        MaxConnections = limits.MaxConnections,
        RetryAfterSeconds = limits.RetryAfterSeconds,
        MirrorBandwidthShare = limits.MirrorBandwidthShare,
        LinkBitsPerSecond = (long)bitsPerSecond,
    };

    private static ManifestFile Image(string path, long size, long changedAt) => new()
    {
        Path = path, Size = size, Sha256 = new string('a', 64), ChangedAt = changedAt, Chunks = [new string('b', 64)],
    };

    private static MirrorRecord Record(Site site, int now) => new()
    {
        Id = site.Mirror.Id,
        Name = site.Mirror.Id,
        HttpUrl = site.Mirror.Url,
        Latitude = site.Mirror.Latitude,
        Longitude = site.Mirror.Longitude,
        Country = site.Mirror.Country,
        Status = MirrorStatus.Approved,
        Alive = true,
        Serial = site.Synced ? NewSerial : OldSerial,
        CapacityMbps = site.Mirror.CapacityGbps * 1000,
        RateBps = site.RateBps(now) / 8, // reported in bytes/s
        Connections = site.Transfers.Count,
    };
}
