using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;

namespace Downloads.LaunchDay.Model;

/// <summary>How a compressed-month run is set up.</summary>
internal sealed record MonthSetup
{
    /// <summary>Monthly quota of each mirror of <see cref="Scenario.Mirrors"/> in TB, in that order: spread 20–400 TB.</summary>
    public double[] QuotaTB { get; init; } = [300, 400, 100, 150, 40, 60, 20, 400, 250, 50, 60, 120, 80, 60, 20, 50];
    /// <summary>Quotas and demand are both multiplied by this (the test runs a tenth of the benchmark's downloads).</summary>
    public double Scale { get; init; } = 1;
    /// <summary>Demand over the month as a multiple of the quotas' sum.</summary>
    public double DemandFactor { get; init; } = 2;
    /// <summary>
    /// Minutes between rounds (a report and a table rebuild). Production reports every 5 s and rebuilds every 0.5 s;
    /// hourly rounds overshot small quotas, as a whole hour of a region's demand landed on the table of its start.
    /// </summary>
    public int RoundMinutes { get; init; } = 5;
    public int Seed { get; init; } = 14;
}

/// <summary>Hourly series and totals of a month (rounds are summed into hours).</summary>
internal sealed class MonthResult(int hours, int mirrors)
{
    public string[] MirrorIds { get; } = new string[mirrors];
    public long[] Quota { get; } = new long[mirrors];
    /// <summary>Bytes each mirror has used by the end of each hour.</summary>
    public long[][] UsedByHour { get; } = [.. Enumerable.Range(0, hours).Select(_ => new long[mirrors])];
    public long[] MirrorBytesInHour { get; } = new long[hours];
    public long[] OriginBytesInHour { get; } = new long[hours];
    public int[] LastHourServed { get; } = Enumerable.Repeat(-1, mirrors).ToArray();
    public long Demand { get; set; }
    public int Hours { get; } = hours;

    public long[] Used => UsedByHour[^1];
    public long Served => Used.Sum();
    public long ToOrigin => OriginBytesInHour.Sum();
}

/// <summary>
/// A month in rounds of a few minutes on simulated time, demand above the quotas, through the real <see cref="SnapshotBuilder"/>
/// and <see cref="MirrorSelector"/> with the shipped options (so the shipped <see cref="QuotaBudget"/> pacing): each
/// round the mirrors report what they have served this month and their rate over the last hour, the table is rebuilt,
/// and that round's downloads (clients spread over countries, the manifest's image sizes) are drawn.
/// </summary>
internal static class CompressedMonth
{
    public static readonly DateTimeOffset March = new(2027, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private const double TB = 1e12;

    public static MonthResult Run(MonthSetup setup)
    {
        var hours = (int)(March.AddMonths(1) - March).TotalHours;
        var random = new Random(setup.Seed);
        var options = new RedirectorOptions();
        var counters = new CounterRegistry();
        var files = Scenario.FileSizes.Select((size, i) => new ManifestFile
        {
            Path = $"os/image-{i}.img", Size = size, Sha256 = new string('a', 64), ChangedAt = 5, Chunks = [new string('b', 64)],
        }).ToArray();
        var index = ManifestIndex.Build(new Manifest { Serial = 10, Published = DateTimeOffset.UnixEpoch, Files = files }, counters);
        var selector = new MirrorSelector(options, new Random(setup.Seed + 1));
        var mirrors = Scenario.Mirrors();
        var result = new MonthResult(hours, mirrors.Length);
        var records = new MirrorRecord[mirrors.Length];
        for (var m = 0; m < mirrors.Length; m++)
        {
            result.MirrorIds[m] = mirrors[m].Id;
            result.Quota[m] = (long)(setup.QuotaTB[m] * setup.Scale * TB);
            records[m] = new MirrorRecord
            {
                Id = mirrors[m].Id, Name = mirrors[m].Id, HttpUrl = mirrors[m].Url, Latitude = mirrors[m].Latitude,
                Longitude = mirrors[m].Longitude, Country = mirrors[m].Country, Status = MirrorStatus.Approved, Alive = true,
                Serial = 10, CapacityMbps = mirrors[m].CapacityGbps * 1000, QuotaBytes = result.Quota[m],
            };
        }
        var byId = Enumerable.Range(0, mirrors.Length).ToDictionary(m => mirrors[m].Id);
        var meanSize = Scenario.FileSizes.Average();
        var roundsPerHour = 60 / setup.RoundMinutes;
        var perRound = setup.DemandFactor * result.Quota.Sum() / hours / roundsPerHour / meanSize;
        var used = new long[mirrors.Length];
        var lastRound = new long[mirrors.Length];
        RoutingSnapshot? snapshot = null;
        Span<int> picks = stackalloc int[1];
        double due = 0;
        for (var round = 0; round < hours * roundsPerHour; round++)
        {
            var hour = round / roundsPerHour;
            var now = March.AddMinutes(round * setup.RoundMinutes);
            for (var m = 0; m < records.Length; m++)
                records[m] = records[m] with { MonthBytes = used[m], BytesServed = used[m], RateBps = lastRound[m] / (setup.RoundMinutes * 60.0) };
            Array.Clear(lastRound);
            snapshot = SnapshotBuilder.Build(index, [.. records], options, counters, now, now, snapshot, now);
            for (due += perRound; due >= 1; due--)
            {
                var file = files[random.Next(files.Length)];
                result.Demand += file.Size;
                if (selector.Select(snapshot, snapshot.Index.Files[file.Path], Places.Next(random), https: false, picks) == 0)
                {
                    result.OriginBytesInHour[hour] += file.Size;
                    continue;
                }
                var m = byId[snapshot.Mirrors[picks[0]].Record.Id];
                used[m] += file.Size;
                lastRound[m] += file.Size;
                result.MirrorBytesInHour[hour] += file.Size;
                result.LastHourServed[m] = hour;
            }
            used.CopyTo(result.UsedByHour[hour], 0);
        }
        return result;
    }
}
