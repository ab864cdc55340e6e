using System.Net;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Downloads.Redirector.Tests.Counting;

/// <summary>
/// Issue #14 §3's surge: many clients (behind the trusted loopback proxy, one X-Forwarded-For each) push the
/// redirector far past its per-client rate limit with every kind of request; what Redis ends up with, flushed,
/// must equal what was sent, outcome by outcome, with countries, files and distinct addresses to match.
/// </summary>
public sealed class SurgeCountingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string RachelPath = "rachel/wikipedia.zim";
    private const int PerClient = 8;
    private readonly RedisServer _redis = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.StartAsync(_redis);
        // The mirrors carry noobs and os only: a rachel file goes to the origin (a fallback).
        TestNetwork.Write(_net.Files, RachelPath, 40_000, 3);
        _net.Publish(await TestNetwork.BuildManifestAsync(_net.Files.Path, [TestNetwork.NoobsPath, TestNetwork.OsPath, RachelPath], 7, 7));
        await _net.AddMirrorAsync("lon", _net.London.Url, 51.5, -0.12, "GB", "EU", sets: "noobs,os");
        await _net.AddMirrorAsync("tyo", _net.Tokyo.Url, 35.68, 139.69, "JP", "AS", sets: "noobs,os");
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_net is not null)
                await _net.DisposeAsync();
        }
        finally
        {
            _redis.Dispose();
        }
    }

    /// <summary>What a client asks for; the answer it expects when not refused.</summary>
    private enum Ask { Get, Head, Metalink, MirrorList, Fallback, NotFound, BadRequest, Checksum }

    private static readonly string Os = "/" + TestNetwork.Escaped(TestNetwork.OsPath);

    private static (HttpMethod Method, string Path) Request(Ask ask) => ask switch
    {
        Ask.Get => (HttpMethod.Get, Os),
        Ask.Head => (HttpMethod.Head, Os),
        Ask.Metalink => (HttpMethod.Get, Os + ".meta4"),
        Ask.MirrorList => (HttpMethod.Get, Os + "?mirrorlist"),
        Ask.Fallback => (HttpMethod.Get, "/" + RachelPath),
        Ask.NotFound => (HttpMethod.Get, "/os/no-such-image.img"),
        Ask.BadRequest => (HttpMethod.Get, "/os%2Fraspios.img"),
        _ => (HttpMethod.Get, Os + ".sha256"),
    };

    private Outcome Classify(Ask ask, HttpResponseMessage answer)
    {
        if (answer.StatusCode == HttpStatusCode.TooManyRequests)
            return Outcome.RateLimited;
        var (expected, outcome) = ask switch
        {
            Ask.Get => (HttpStatusCode.Found, Outcome.Mirror),
            Ask.Head => (HttpStatusCode.Found, Outcome.Head),
            Ask.Metalink => (HttpStatusCode.OK, Outcome.Metalink),
            Ask.MirrorList => (HttpStatusCode.OK, Outcome.MirrorList),
            Ask.Fallback => (HttpStatusCode.Found, Outcome.Fallback),
            Ask.NotFound => (HttpStatusCode.NotFound, Outcome.NotFound),
            Ask.BadRequest => (HttpStatusCode.BadRequest, Outcome.BadRequest),
            _ => (HttpStatusCode.OK, Outcome.Checksums),
        };
        Assert.Equal(expected, answer.StatusCode);
        if (ask == Ask.Get)
            Assert.DoesNotContain(_net.Origin.Url, answer.Headers.Location!.ToString(), StringComparison.Ordinal);
        if (ask == Ask.Fallback)
            Assert.StartsWith(_net.Origin.Url, answer.Headers.Location!.ToString(), StringComparison.Ordinal);
        return outcome;
    }

    /// <summary>300 clients: 75 each in London, Linköping, Milton WA (sample geo data) and unknown (100.64/10).</summary>
    private static (string Address, string Country) Client(int i) => (i % 4) switch
    {
        0 => ($"81.2.69.{i / 4 + 1}", "GB"),
        1 => ($"89.160.20.{i / 4 + 1}", "SE"),
        2 => ($"216.160.83.{i / 4 + 1}", "US"),
        _ => ($"100.64.7.{i / 4 + 1}", CounterRegistry.UnknownCountry),
    };

    private async Task<Dictionary<string, long>> SumAsync(Func<DateTimeOffset, RedisKey> key)
    {
        var now = DateTimeOffset.UtcNow;
        var sum = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var day in new[] { now, now.AddDays(-1) })
        {
            foreach (var e in await _net.Db.HashGetAllAsync(key(day)))
                sum[e.Name!] = sum.GetValueOrDefault(e.Name!) + (long)e.Value;
        }
        return sum;
    }

    private Task<long> UniqueAsync(params string[] outcomes)
    {
        var now = DateTimeOffset.UtcNow;
        return _net.Db.HyperLogLogLengthAsync([.. outcomes.SelectMany(o => new[]
            { Keyspace.StatsOutcomeAddresses(now, o), Keyspace.StatsOutcomeAddresses(now.AddDays(-1), o) })]);
    }

    [Fact]
    public async Task Every_request_of_a_surge_past_the_rate_limit_is_counted_once_by_outcome_country_file_and_address()
    {
        // Burst 4, then one permit per 1000 s: each client's first 4 requests are answered, the other 4 refused.
        await _net.StartRedirectorAsync(true, "--RateLimit:PermitsPerSecond=0.001", "--RateLimit:Burst=4", "--Redirector:CounterFlushSeconds=1");
        const int clients = 300;
        var sent = new long[Outcomes.Count];
        var refusedIn = new Dictionary<string, long>(StringComparer.Ordinal);
        var lockObject = new object();
        var asks = Enum.GetValues<Ask>();
        await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (c, _) =>
        {
            var (address, country) = Client(c);
            for (var j = 0; j < PerClient; j++)
            {
                // Each client starts at another kind, so every kind is both answered and refused.
                var ask = asks[(c + j) % asks.Length];
                var (method, path) = Request(ask);
                using var answer = await _net.GetAsync(path, address, method);
                var outcome = Classify(ask, answer);
                lock (lockObject)
                {
                    sent[(int)outcome]++;
                    if (outcome == Outcome.RateLimited)
                        refusedIn[country] = refusedIn.GetValueOrDefault(country) + 1;
                }
            }
        });
        var expected = Outcomes.All.Where(o => sent[(int)o] > 0).ToDictionary(Outcomes.Name, o => sent[(int)o]);
        output.WriteLine("sent: " + string.Join(", ", expected.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.Equal(clients * PerClient, expected.Values.Sum());
        // At least 4 of each client's 8 (two clients hashed to one slot of the limiter's table share a budget).
        Assert.True(sent[(int)Outcome.RateLimited] >= clients * 4, $"{sent[(int)Outcome.RateLimited]} refused");
        Assert.All(Outcomes.All, o => Assert.True(sent[(int)o] > 0, $"no {Outcomes.Name(o)} was sent"));

        Dictionary<string, long> counted = [];
        await Eventually.TrueAsync(async () =>
        {
            counted = await SumAsync(Keyspace.StatsOutcomes);
            return counted.Count == expected.Count && expected.All(kv => counted.GetValueOrDefault(kv.Key) == kv.Value);
        }, TimeSpan.FromSeconds(30), "Redis holds every request sent, by outcome");
        // More flushes run: nothing is counted twice.
        await Task.Delay(2500);
        Assert.Equal(expected.OrderBy(kv => kv.Key), (await SumAsync(Keyspace.StatsOutcomes)).OrderBy(kv => kv.Key));

        // Per country: every outcome's countries add up to its total; the refusals land in the clients' countries.
        foreach (var (name, total) in expected)
            Assert.Equal(total, (await SumAsync(d => Keyspace.StatsOutcomeCountries(d, name))).Values.Sum());
        Assert.Equal(refusedIn.OrderBy(kv => kv.Key), (await SumAsync(d => Keyspace.StatsOutcomeCountries(d, "rate_limited"))).OrderBy(kv => kv.Key));

        // Per file only where the answer names a manifest file; never a refused or unknown path.
        Assert.Equal(sent[(int)Outcome.Head], (await SumAsync(d => Keyspace.StatsOutcomeFiles(d, "head"))).GetValueOrDefault(TestNetwork.OsPath));
        Assert.Equal(sent[(int)Outcome.Fallback], (await SumAsync(d => Keyspace.StatsOutcomeFiles(d, "fallback"))).GetValueOrDefault(RachelPath));
        foreach (var name in new[] { "rate_limited", "not_found", "bad_request", "checksums" })
            Assert.Empty(await SumAsync(d => Keyspace.StatsOutcomeFiles(d, name)));

        // Downloads are GET redirects and Metalinks; HEADs, lists and refusals are not; only GETs are per mirror.
        var downloads = await SumAsync(Keyspace.StatsFiles);
        Assert.Equal(sent[(int)Outcome.Mirror] + sent[(int)Outcome.Metalink], downloads.GetValueOrDefault(TestNetwork.OsPath));
        Assert.Equal(sent[(int)Outcome.Fallback], downloads.GetValueOrDefault(RachelPath));
        var downloadsTotal = sent[(int)Outcome.Mirror] + sent[(int)Outcome.Metalink] + sent[(int)Outcome.Fallback];
        Assert.Equal(downloadsTotal, (await SumAsync(Keyspace.StatsCountries)).Values.Sum());
        var mirrors = await SumAsync(Keyspace.StatsMirrors);
        Assert.Equal(sent[(int)Outcome.Mirror], mirrors.Where(kv => kv.Key != CounterRegistry.FallbackId).Sum(kv => kv.Value));
        Assert.Equal(sent[(int)Outcome.Fallback], mirrors.GetValueOrDefault(CounterRegistry.FallbackId));

        // Distinct addresses: every client was refused at least once; all 300 asked something (±3 sigma of 0.81 %).
        Assert.InRange(await UniqueAsync("rate_limited"), clients * 0.975, clients * 1.025);
        Assert.InRange(await UniqueAsync([.. Outcomes.All.Select(Outcomes.Name)]), clients * 0.975, clients * 1.025);

        // /-/metrics: by outcome only, refusals in their own counter as before.
        Assert.Equal(sent[(int)Outcome.RateLimited], await _net.MetricAsync("downloads_rate_limited_total"));
        var metrics = PrometheusText.Parse(await _net.Http.GetStringAsync(_net.Url + "/-/metrics"));
        foreach (var outcome in Outcomes.All.Where(o => o != Outcome.RateLimited))
            Assert.Equal(sent[(int)outcome], metrics.Single(s => s.Name == "downloads_redirects_total" && s.Label("outcome") == Outcomes.Name(outcome)).Value);
        Assert.DoesNotContain(metrics, s => s.Name == "downloads_redirects_total" && s.Label("path") is not null);
    }
}
