using BenchmarkDotNet.Attributes;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Redirector;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;

namespace Downloads.Bench;

/// <summary>
/// One selection (filter, rank, lottery, alternates) among N mirrors spread over the world, for clients in
/// many places. <see cref="Saturated"/> = false: the usual case, the near mirrors have room (the file is
/// empty, so our own-redirect estimate stays as it is); true: every mirror is full by that estimate, the
/// worst case — the draw, the search for the nearest mirror with room and the fallback to the reported figures.
/// </summary>
[MemoryDiagnoser]
public class SelectionBenchmarks
{
    private RoutingSnapshot _snapshot = RoutingSnapshot.Empty;
    private FileEntry _file = null!;
    private MirrorSelector _selector = null!;
    private ClientLocation[] _clients = [];
    private int _next;

    [Params(1_000, 10_000)]
    public int Mirrors { get; set; }

    [Params(false, true)]
    public bool Saturated { get; set; }

    /// <summary>
    /// Whether the client's network hosts mirrors too (ASNs drawn from the mirrors' 200): those rank above
    /// distance, so every row is keyed; otherwise only the cells near the client are (the usual case).
    /// </summary>
    [Params(false, true)]
    public bool SameAsn { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new RedirectorOptions();
        var counters = new CounterRegistry();
        var manifest = Fixtures.Manifest(100);
        manifest = manifest with { Files = [manifest.Files[0] with { Size = 0 }, .. manifest.Files.Skip(1)] };
        _snapshot = SnapshotBuilder.Build(ManifestIndex.Build(manifest, counters), Fixtures.Mirrors(Mirrors, seed: 1), options, counters,
            DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        _file = _snapshot.Index.Files[manifest.Files[0].Path];
        if (Saturated)
        {
            foreach (var mirror in _snapshot.Mirrors)
                mirror.Assigned.Add(long.MaxValue / 4);
        }
        _selector = new MirrorSelector(options, new Random(1));
        var random = new Random(2);
        _clients = new ClientLocation[1024];
        for (var i = 0; i < _clients.Length; i++)
            _clients[i] = new ClientLocation(random.NextDouble() * 140 - 60, random.NextDouble() * 360 - 180, "GB", "EU", SameAsn ? 64_512 + random.Next(200) : 100_000 + random.Next(200));
    }

    [Benchmark]
    public int Select()
    {
        Span<int> picks = stackalloc int[5];
        var client = _clients[_next++ & 1023];
        return _selector.Select(_snapshot, _file, client, false, picks);
    }
}

/// <summary>Deterministic mirrors and manifests for benchmarks and the redirect load test.</summary>
public static class Fixtures
{
    private static readonly string[] Sets = ["noobs", "os", "rachel"];

    public static MirrorRecord[] Mirrors(int count, int seed)
    {
        var random = new Random(seed);
        var mirrors = new MirrorRecord[count];
        for (var i = 0; i < count; i++)
        {
            // About one in ten mirrors is excluded for some reason, as in a real table.
            var roll = random.Next(100);
            mirrors[i] = new MirrorRecord
            {
                Id = $"m{i:D5}",
                Name = $"Mirror {i}",
                HttpUrl = $"http://m{i}.mirrors.example",
                HttpsUrl = $"https://m{i}.mirrors.example",
                Latitude = Math.Round(random.NextDouble() * 130 - 55, 3),
                Longitude = Math.Round(random.NextDouble() * 360 - 180, 3),
                Country = "GB",
                Continent = "EU",
                Asn = 64_512 + random.Next(200),
                Status = MirrorStatus.Approved,
                Enabled = roll != 0,
                Draining = roll == 1,
                Alive = roll != 2,
                Healthy = roll != 3,
                Serial = roll == 4 ? 1 : 10,
                Sets = roll == 5 ? ["os"] : [],
                CapacityMbps = 100 + random.Next(10_000),
                RateBps = random.Next(5_000_000),
                Weight = 100,
            };
        }
        return mirrors;
    }

    public static Manifest Manifest(int files)
    {
        var list = new List<ManifestFile>(files);
        for (var i = 0; i < files; i++)
        {
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));
            list.Add(new ManifestFile
            {
                Path = $"{Sets[i % Sets.Length]}/file-{i:D6}.img",
                Size = 1_000_000 + i,
                Sha256 = hash,
                ChangedAt = 5,
                Chunks = [hash],
                Modified = DateTimeOffset.UnixEpoch,
            });
        }
        list.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new Manifest { Serial = 10, Published = DateTimeOffset.UnixEpoch, ChunkSize = ManifestDefaults.ChunkSize, Files = list };
    }
}
