using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Redis;
using Downloads.GeoData;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Downloads.LaunchDay;

/// <summary>
/// Launch-day simulator: the real redirector (real Kestrel, real redis-server, synthetic MaxMind
/// databases of 20,000 networks) under a surge from normal to 10x, clients spread over countries,
/// simulated mirrors reporting the bandwidth their redirects would cost, one mirror killed at the
/// peak. Writes PNG plots and summary.md to the output folder (default bench/launchday/out); further
/// arguments go to the redirector (e.g. <c>--Redirector:UsableCapacity=0.8</c>).
/// </summary>
public static class Program
{
    private static readonly TimeSpan HeartbeatTtl = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(1);

    public static async Task<int> Main(string[] args)
    {
        // The model scenarios (simulated time, no servers): `sync`, `month` or `models` (both), then the output folder.
        if (args.Length > 0 && args[0] is "sync" or "month" or "models")
            return ModelReport.Run(args[0], args.Length > 1 ? args[1] : Path.Combine("bench", "launchday", "out"));
        var output = args.Length > 0 ? args[0] : Path.Combine("bench", "launchday", "out");
        Directory.CreateDirectory(output);
        using var dir = new TempDirectory("launchday");
        using var redis = new RedisServer();
        var db = redis.Admin.GetDatabase();

        Console.WriteLine("writing geo databases (20,000 networks over 38 countries)…");
        var city = dir.Combine("City.mmdb");
        var asn = dir.Combine("ASN.mmdb");
        var networks = SyntheticGeoDatabases.Write(city, asn, 20_000, seed: 7);
        var clients = new ClientPool(networks, city);

        var key = ManifestSigner.GenerateKeyPair();
        await using var origin = await StaticHost.StartAsync();
        origin.Publish(ScenarioManifest(), key.PrivateKey);
        var mirrors = Scenario.Mirrors();
        foreach (var m in mirrors)
            await m.RegisterAsync(db, HeartbeatTtl);

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var serverTimes = new ServerTimes();
        var redirectorArgs = new RedirectorArgs
        {
            Url = url, Redis = redis.Configuration, Origin = origin.Url, PublicKey = key.PublicKey, CityDatabase = city, AsnDatabase = asn,
            MirrorRefreshSeconds = 0.5, CounterFlushSeconds = 1, HealthChecks = false,
            LogLevel = null, // the levels it ships with
        };
        await using var redirector = RedirectorApp.Build(redirectorArgs.Build([.. args.Skip(1)]),
            services => services.AddSingleton<IStartupFilter>(new ServerTiming(serverTimes)));
        await redirector.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, MaxConnectionsPerServer = 256 })
        { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < 100; i++)
        {
            using var health = await http.GetAsync("/-/health");
            if ((await health.Content.ReadAsStringAsync()).Contains($"\"httpCandidates\":{mirrors.Length}", StringComparison.Ordinal))
                break;
            await Task.Delay(200);
        }

        Console.WriteLine($"surge: {Scenario.NormalRate}/s, ramp {Scenario.RampStart}-{Scenario.RampEnd} s to {Scenario.SurgeFactor}x, {Scenario.Victim} killed at {Scenario.KillAt} s, {Scenario.Duration} s in all");
        var record = new Recorder(mirrors, (int)Scenario.Duration + 1);
        var clock = Stopwatch.StartNew();
        double Now() => clock.Elapsed.TotalSeconds;
        serverTimes.Clock = Now;
        using var stop = new CancellationTokenSource();
        var reporter = ReportLoopAsync(db, mirrors, Now, stop.Token);
        var sampler = SampleLoopAsync(mirrors, record, Now, stop.Token);
        await LoadAsync(http, clients, mirrors, record, Now);
        await stop.CancelAsync();
        await Task.WhenAll(reporter, sampler);

        await FlushedAsync(http, db);
        var countries = await db.HashGetAllAsync(Keyspace.StatsCountries(DateTimeOffset.UtcNow));
        var summary = Report.Write(output, record, serverTimes, mirrors, countries.ToDictionary(e => e.Name.ToString(), e => (double)(long)e.Value), clients.Distinct);
        Console.WriteLine(summary);
        await redirector.StopAsync();
        return 0;
    }

    private static async Task LoadAsync(HttpClient http, ClientPool clients, SimMirror[] mirrors, Recorder record, Func<double> now)
    {
        var byHost = mirrors.ToDictionary(m => new Uri(m.Url).Host);
        var random = new Random(11);
        var inFlight = new SemaphoreSlim(512);
        var pending = new ConcurrentDictionary<Task, byte>();
        double due = 0;
        var last = now();
        while (last < Scenario.Duration)
        {
            await Task.Delay(5);
            var t = now();
            due += Scenario.RateAt(t) * (t - last);
            last = t;
            if (t >= Scenario.KillAt && !mirrors.First(m => m.Id == Scenario.Victim).Dead)
                mirrors.First(m => m.Id == Scenario.Victim).Kill();
            for (; due >= 1; due--)
            {
                if (!inFlight.Wait(0))
                {
                    record.Skipped(t);
                    continue;
                }
                var address = clients.Next(random);
                var file = random.Next(Scenario.FileSizes.Length);
                var speed = Scenario.ClientSpeed(random);
                var task = OneAsync(http, address, file, speed, byHost, record, now);
                pending[task] = 0;
                _ = task.ContinueWith(done =>
                {
                    inFlight.Release();
                    pending.TryRemove(done, out _);
                }, TaskScheduler.Default);
            }
        }
        await Task.WhenAll(pending.Keys);
    }

    private static async Task OneAsync(HttpClient http, IPAddress client, int file, double speed,
        Dictionary<string, SimMirror> byHost, Recorder record, Func<double> now)
    {
        var start = Stopwatch.GetTimestamp();
        var t = now();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/os/image-{file}.img");
            request.Headers.Add("X-Forwarded-For", client.ToString());
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.Found)
            {
                record.Refused(t, (int)response.StatusCode);
                return;
            }
            var host = response.Headers.Location!.Host;
            if (byHost.TryGetValue(host, out var mirror))
            {
                record.Redirect(t, ms, mirror);
                mirror.Start(now(), Scenario.FileSizes[file] * 8.0 / Scenario.SizeScale, speed);
            }
            else
            {
                record.Redirect(t, ms, null);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            record.Refused(t, 0);
        }
    }

    /// <summary>Waits (15 s at most) until Redis has counted every redirect the redirector served: its counters are flushed.</summary>
    private static async Task FlushedAsync(HttpClient http, StackExchange.Redis.IDatabase db)
    {
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                var served = PrometheusText.Parse(await http.GetStringAsync("/-/metrics"))
                    .Where(s => s.Name == "downloads_redirects_total" && s.Label("outcome") is "mirror" or "fallback").Sum(s => s.Value);
                var counted = (await db.HashValuesAsync(Keyspace.StatsCountries(DateTimeOffset.UtcNow))).Sum(v => (long)v);
                return counted >= served;
            }, TimeSpan.FromSeconds(15), "every redirect counted in Redis");
        }
        catch (TimeoutException e)
        {
            Console.WriteLine($"{e.Message}; the country figures fall short");
        }
    }

    private static async Task ReportLoopAsync(StackExchange.Redis.IDatabase db, SimMirror[] mirrors, Func<double> now, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(ReportEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var t = now();
                await Task.WhenAll(mirrors.Where(m => !m.Dead).Select(m => m.ReportAsync(db, t, HeartbeatTtl)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task SampleLoopAsync(SimMirror[] mirrors, Recorder record, Func<double> now, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var t = now();
                for (var i = 0; i < mirrors.Length; i++)
                    record.Sample(t, i, mirrors[i].RateAt(t));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The scenario's images as a manifest (no bodies: nobody downloads from the stand-in origin here).</summary>
    private static Manifest ScenarioManifest()
    {
        var files = new List<ManifestFile>();
        for (var i = 0; i < Scenario.FileSizes.Length; i++)
        {
            var size = Scenario.FileSizes[i];
            var chunks = new List<string>();
            for (long c = 0; c < (size + ManifestDefaults.ChunkSize - 1) / ManifestDefaults.ChunkSize; c++)
                chunks.Add(Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes((i * 100_000L) + c))));
            files.Add(new ManifestFile
            {
                Path = $"os/image-{i}.img", Size = size, Sha256 = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i))),
                Chunks = chunks, ChangedAt = 1, Modified = DateTimeOffset.UnixEpoch,
            });
        }
        return new Manifest { Serial = 1, Published = DateTimeOffset.UtcNow, Expires = DateTimeOffset.UtcNow.AddDays(7), Files = files };
    }
}
