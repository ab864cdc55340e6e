using System.Globalization;
using System.Text;
using BenchmarkDotNet.Running;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.GeoData;
using StackExchange.Redis;

namespace Downloads.Bench;

/// <summary>
/// BenchmarkDotNet benchmarks (no verb, or BenchmarkDotNet's own arguments), plus the helpers
/// bench/redirect.sh drives: <c>origin</c>, <c>seed</c>, <c>report</c>, <c>bare</c> and <c>geo</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "origin":
                return await ServeOriginAsync(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
            case "seed":
                return await SeedAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
            case "bare":
                return await BareAsync(int.Parse(args[1], CultureInfo.InvariantCulture));
            case "report":
                return await ReportAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), double.Parse(args[3], CultureInfo.InvariantCulture));
            case "memory":
                return Memory(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture));
            case "geoload":
                return GeoLoad(args[1]);
            case "geo":
                return WriteGeo(args[1], args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 1);
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }

    /// <summary>Serves a signed manifest of N files (no file bodies) on a port; writes the public key to a file.</summary>
    private static async Task<int> ServeOriginAsync(int port, int files, string keyFile)
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var bytes = ManifestCodec.Serialize(Fixtures.Manifest(files));
        var signature = ManifestSigner.Sign(bytes, priv);
        await File.WriteAllTextAsync(keyFile + ".tmp", pub);
        File.Move(keyFile + ".tmp", keyFile, overwrite: true);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet(ManifestDefaults.ManifestPath, () => Results.Bytes(bytes, "application/json"));
        app.MapGet(ManifestDefaults.SignaturePath, () => Results.Text(signature));
        await app.RunAsync();
        return 0;
    }

    /// <summary>Writes N mirror records (as <see cref="Fixtures.Mirrors"/>) to Redis through the shared keyspace.</summary>
    private static async Task<int> SeedAsync(string redis, int count)
    {
        using var mux = await ConnectionMultiplexer.ConnectAsync(redis);
        var db = mux.GetDatabase();
        var tasks = new List<Task>();
        foreach (var m in Fixtures.Mirrors(count, seed: 1))
        {
            tasks.Add(MirrorStore.AddAsync(db, m.Id));
            var info = new Dictionary<string, string>
            {
                [Keyspace.InfoFields.Name] = m.Name,
                [Keyspace.InfoFields.HttpUrl] = m.HttpUrl,
                [Keyspace.InfoFields.HttpsUrl] = m.HttpsUrl,
                [Keyspace.InfoFields.Latitude] = m.Latitude.ToString(CultureInfo.InvariantCulture),
                [Keyspace.InfoFields.Longitude] = m.Longitude.ToString(CultureInfo.InvariantCulture),
                [Keyspace.InfoFields.Country] = m.Country,
                [Keyspace.InfoFields.Asn] = m.Asn.ToString(CultureInfo.InvariantCulture),
                [Keyspace.InfoFields.Sets] = string.Join(',', m.Sets),
                [Keyspace.InfoFields.CapacityMbps] = m.CapacityMbps.ToString(CultureInfo.InvariantCulture),
            };
            tasks.Add(MirrorStore.WriteInfoAsync(db, m.Id, info));
            // What ops' approval writes: the approved record, which redirectors route by (docs/membership.md).
            tasks.Add(db.HashSetAsync(Keyspace.MirrorApproved(m.Id),
                [.. info.Where(f => MirrorInfoValidation.ApprovedFields.Contains(f.Key)).Select(f => new HashEntry(f.Key, f.Value))]));
            tasks.Add(db.HashSetAsync(Keyspace.MirrorConfig(m.Id),
            [
                new HashEntry(Keyspace.ConfigFields.Status, m.Status == MirrorStatus.Approved ? "approved" : "pending"),
                new HashEntry(Keyspace.ConfigFields.Enabled, m.Enabled ? "1" : "0"),
                new HashEntry(Keyspace.ConfigFields.Draining, m.Draining ? "1" : "0"),
            ]));
            tasks.Add(db.HashSetAsync(Keyspace.MirrorState(m.Id),
            [
                new HashEntry(Keyspace.StateFields.Serial, m.Serial),
                new HashEntry(Keyspace.StateFields.RateBps, m.RateBps),
            ]));
            if (m.Alive)
                tasks.Add(db.StringSetAsync(Keyspace.MirrorAlive(m.Id), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), TimeSpan.FromHours(2)));
            if (!m.Healthy)
                tasks.Add(db.HashSetAsync(Keyspace.MirrorHealth(m.Id), Keyspace.HealthFields.Ok, "0"));
        }
        await Task.WhenAll(tasks);
        Console.WriteLine($"seeded {count} mirrors");
        return 0;
    }

    /// <summary>
    /// Until killed: every <paramref name="seconds"/>, each of the N seeded mirrors "reports" as a real one
    /// does (request counter moved, heartbeat renewed, rate unchanged), so the redirector's estimate of
    /// its own redirects is settled by reports as in production instead of piling up on a static table.
    /// </summary>
    private static async Task<int> ReportAsync(string redis, int count, double seconds)
    {
        using var mux = await ConnectionMultiplexer.ConnectAsync(redis);
        var db = mux.GetDatabase();
        var mirrors = Fixtures.Mirrors(count, seed: 1).Where(m => m.Alive).ToArray();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds));
        while (await timer.WaitForNextTickAsync())
        {
            var batch = db.CreateBatch();
            var tasks = new List<Task>(mirrors.Length * 2);
            foreach (var m in mirrors)
            {
                tasks.Add(batch.HashIncrementAsync(Keyspace.MirrorState(m.Id), Keyspace.StateFields.Requests));
                tasks.Add(batch.StringSetAsync(Keyspace.MirrorAlive(m.Id), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), TimeSpan.FromHours(2)));
            }
            batch.Execute();
            await Task.WhenAll(tasks);
        }
        return 0;
    }

    /// <summary>
    /// Managed bytes held by a snapshot of N mirrors and M files (what RSS is made of, minus the runtime); then the
    /// peak of building the index from the manifest bytes, streamed against parsed whole (<see cref="ManifestMemory"/>).
    /// </summary>
    private static int Memory(int mirrors, int files)
    {
        // Serialised before the first reading: the serializer's growing output buffer is rented from ArrayPool and
        // stays pooled (~67 MB at 100,000 files), which an earlier version of this verb counted as "manifest".
        var bytes = ManifestCodec.Serialize(Fixtures.Manifest(files));
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var manifest = ManifestCodec.TryParse(bytes, out _)!;
        var afterManifest = GC.GetTotalMemory(true);
        var counters = new Downloads.Redirector.Counting.CounterRegistry();
        var index = Downloads.Redirector.Snapshots.ManifestIndex.Build(manifest, counters);
        var afterIndex = GC.GetTotalMemory(true);
        var snapshot = Downloads.Redirector.Selection.SnapshotBuilder.Build(index, Fixtures.Mirrors(mirrors, 1), new Downloads.Redirector.RedirectorOptions(),
            counters, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var afterSnapshot = GC.GetTotalMemory(true);
        Console.WriteLine($"manifest {(afterManifest - before) / 1e6:F1} MB (parsed, as the origin and mirrors hold it), index {(afterIndex - afterManifest) / 1e6:F1} MB, mirrors {(afterSnapshot - afterIndex) / 1e6:F1} MB");
        GC.KeepAlive(snapshot);
        ManifestMemory.Compare(bytes, rounds: 5);
        return 0;
    }

    /// <summary>The baseline: a bare Kestrel MapGet answering every path with a 302.</summary>
    private static async Task<int> BareAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/{**path}", (string? path) => TypedResults.Redirect("http://mirror.example/" + path));
        // The reference for "allocated per redirect": bytes this process's heap has allocated since start.
        app.MapGet("/-/allocated", () => GC.GetTotalAllocatedBytes().ToString(System.Globalization.CultureInfo.InvariantCulture));
        await app.RunAsync();
        return 0;
    }

    /// <summary>RSS and managed heap around loading a City database twice (as a reload does), to see what a load costs.</summary>
    private static int GeoLoad(string path)
    {
        static string Rss() => File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmRSS", StringComparison.Ordinal))[6..].Trim();
        Console.WriteLine($"start: RSS {Rss()}, heap {GC.GetTotalMemory(true) / 1e6:F1} MB");
        var first = Downloads.Redirector.Geo.GeoDatabase<Downloads.Redirector.Geo.ClientLocation>.Open(path, Downloads.Redirector.Geo.GeoRecords.City(), Downloads.Redirector.Geo.ClientLocation.Unknown);
        Console.WriteLine($"loaded: RSS {Rss()}, heap {GC.GetTotalMemory(false) / 1e6:F1} MB; after GC heap {GC.GetTotalMemory(true) / 1e6:F1} MB, RSS {Rss()}; {first.RecordCount} records, {first.ValueCount} values");
        var second = Downloads.Redirector.Geo.GeoDatabase<Downloads.Redirector.Geo.ClientLocation>.Open(path, Downloads.Redirector.Geo.GeoRecords.City(), Downloads.Redirector.Geo.ClientLocation.Unknown);
        Console.WriteLine($"second loaded: RSS {Rss()}, heap {GC.GetTotalMemory(false) / 1e6:F1} MB");
        GC.KeepAlive(first);
        first = null;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        Console.WriteLine($"first dropped, aggressive GC: RSS {Rss()}, heap {GC.GetTotalMemory(false) / 1e6:F1} MB");
        GC.KeepAlive(second);
        return 0;
    }

    /// <summary>
    /// Writes GeoLite2-scale City/ASN databases (<see cref="RealScaleGeoDatabases"/>) and three wrk Lua scripts:
    /// <c>uniform.lua</c> (a uniformly random public IPv4 address per request: the worst case for any cache),
    /// <c>mix.lua</c> (a few thousand networks, a few of them busy: a realistic crowd, IPv6 included) and
    /// <c>close.lua</c> (uniform, a new connection per request, as download tools make one redirect per connection).
    /// </summary>
    private static int WriteGeo(string dir, double scale)
    {
        Directory.CreateDirectory(dir);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var summary = RealScaleGeoDatabases.Write(Path.Combine(dir, "City.mmdb"), Path.Combine(dir, "ASN.mmdb"), seed: 3, scale);
        var files = new StringBuilder("local files = {");
        foreach (var f in Fixtures.Manifest(300).Files)
            files.Append("\"/").Append(f.Path).Append("\",");
        files.Append("}\n");

        // Uniform over public IPv4: first octets 1-223 except 10 and 127; the rest of the reserved space is
        // too small to matter (and is answered as "unknown location", like any address outside the data).
        const string Uniform = """
            math.randomseed(7)
            local function ip()
              local a
              repeat a = math.random(1, 223) until a ~= 10 and a ~= 127
              return a .. "." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
            end

            """;
        File.WriteAllText(Path.Combine(dir, "uniform.lua"), files + Uniform + Request(""));
        File.WriteAllText(Path.Combine(dir, "close.lua"), files + Uniform + Request(", [\"Connection\"] = \"close\""));

        // A crowd: 3,000 networks drawn from the database, picked with a skew (a few busy ones, a long tail),
        // each request from another host of its network (a busy network is many people, not one address).
        var mix = new StringBuilder("local nets = {");
        var random = new Random(11);
        var networks = summary.SampleNetworks;
        for (var i = 0; i < 3_000; i++)
        {
            var n = networks[random.Next(networks.Count)];
            var text = n.BaseAddress.ToString();
            // IPv4: "a.b.c." and a host byte added per request; IPv6: the /64 and a host part added per request.
            mix.Append('"').Append(n.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                ? text[..(text.LastIndexOf('.') + 1)]
                : text.TrimEnd(':') + "::").Append("\",");
        }

        mix.Append("}\nmath.randomseed(7)\nlocal function ip()\n  local u = math.random()\n  local net = nets[math.floor(u * u * #nets) + 1]\n")
           .Append("  if net:sub(-1) == \".\" then return net .. math.random(1, 254) end\n")
           .Append("  return net .. string.format(\"%x:%x\", math.random(0, 65535), math.random(1, 65535))\nend\n");
        File.WriteAllText(Path.Combine(dir, "mix.lua"), files + mix.ToString() + Request(""));
        var layout = Downloads.Redirector.Geo.MmdbLayout.Read(Path.Combine(dir, "City.mmdb"));
        Console.WriteLine($"City: {layout.NodeCount:N0} nodes ({layout.TreeSize / 1e6:F1} MB), data section {layout.DataLength / 1e6:F1} MB");
        Console.WriteLine($"wrote {summary.IPv4Networks:N0} IPv4 and {summary.IPv6Networks:N0} IPv6 networks, {summary.Locations:N0} locations, " +
            $"{summary.Records:N0} city records, {summary.AsnNetworks:N0} ASN networks to {dir} in {started.Elapsed.TotalSeconds:F1} s " +
            $"(City {new FileInfo(Path.Combine(dir, "City.mmdb")).Length / 1e6:F1} MB, ASN {new FileInfo(Path.Combine(dir, "ASN.mmdb")).Length / 1e6:F1} MB)");
        return 0;

        static string Request(string extraHeaders) =>
            "request = function()\n  return wrk.format(\"GET\", files[math.random(#files)], { [\"X-Forwarded-For\"] = ip()" + extraHeaders + " })\nend\n";
    }
}
