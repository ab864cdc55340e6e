using System.Net;
using Downloads.Contracts.Identity;
using Downloads.Contracts.Redis;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NSec.Cryptography;

namespace Downloads.Origin.Tests.Limits;

/// <summary>
/// The origin's shedding over real sockets: public downloads that never finish (a client that reads only the
/// headers of a 64 MiB file) hold their permits, so the limits can be filled without timing anything.
/// </summary>
public sealed class OriginAdmissionTests
{
    private const string Big = "os/big.img";

    [Fact]
    public async Task A_surge_of_public_clients_is_shed_while_a_signed_mirror_still_syncs()
    {
        using var dir = new TempDirectory("origin-limits");
        await using var redis = new RedisServer();
        var root = Directory.CreateDirectory(dir.Combine("root")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "os"));
        await File.WriteAllBytesAsync(Path.Combine(root, Big), new byte[64 * 1024 * 1024]);
        await File.WriteAllTextAsync(Path.Combine(root, "os", "small.txt"), "small\n");
        var keyFile = dir.Combine("key");
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", keyFile], new StringWriter()));

        // An approved mirror with a key, a pending one with a key, and the origin's view of them.
        using var mirrorKey = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        using var pendingKey = Key.Create(SignatureAlgorithm.Ed25519);
        var db = redis.Admin.GetDatabase();
        await db.SetAddAsync(Keyspace.Mirrors, ["uk-cam", "se-sto"]);
        await db.HashSetAsync(Keyspace.MirrorConfig("uk-cam"), [new("status", "approved"), new("enabled", "1"), new(Keyspace.ConfigFields.PublicKey, PublicKeyOf(mirrorKey))]);
        await db.HashSetAsync(Keyspace.MirrorConfig("se-sto"), [new("status", "pending"), new("enabled", "1"), new(Keyspace.ConfigFields.PublicKey, PublicKeyOf(pendingKey))]);

        var port = FreePort.Next();
        var url = $"http://127.0.0.1:{port}";
        await using var app = OriginApp.Build([$"--urls={url}", $"--Origin:Root={root}", $"--Origin:StateDir={dir.Combine("state")}",
            $"--Origin:PrivateKeyFile={keyFile}", $"--Redis:Configuration={redis.Configuration}",
            "--Limits:MaxRequests=3", "--Limits:ReservedForMirrors=1", "--Limits:PerClient=2"]);
        await app.StartAsync();
        await app.Services.GetRequiredService<MirrorKeyDirectory>().RefreshAsync();
        Assert.Equal(1, app.Services.GetRequiredService<MirrorKeyDirectory>().Count);

        using var a = LoopbackClients.From("127.0.0.2");
        using var b = LoopbackClients.From("127.0.0.3");
        using var c = LoopbackClients.From("127.0.0.4");
        var held = new List<HttpResponseMessage>();
        try
        {
            // Client A takes its two; a third from A is over its own limit.
            held.Add(await Hold(a, url));
            held.Add(await Hold(a, url));
            using (var third = await a.GetAsync($"{url}/os/small.txt"))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(10), third.Headers.RetryAfter?.Delta);
                Assert.StartsWith("Too many downloads from your address", await third.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // The public share (3 - 1 reserved) is full: B is refused although B has nothing open.
            using (var full = await b.GetAsync($"{url}/os/small.txt"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
                Assert.StartsWith("The origin is at capacity", await full.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // The approved mirror's signed request gets the reserved permit, from any address.
            using (var signed = Signed($"{url}/os/small.txt", "uk-cam", mirrorKey))
            using (var synced = await c.SendAsync(signed))
            {
                Assert.Equal(HttpStatusCode.OK, synced.StatusCode);
                Assert.Equal("small\n", await synced.Content.ReadAsStringAsync());
            }

            // A forged, a replayed, and a pending mirror's signature are public requests: refused.
            using (var forged = Signed($"{url}/os/small.txt", "uk-cam", pendingKey))
            using (var refused = await c.SendAsync(forged))
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            using (var pending = Signed($"{url}/os/small.txt", "se-sto", pendingKey))
            using (var refused = await c.SendAsync(pending))
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            using (var original = Signed($"{url}/os/small.txt", "uk-cam", mirrorKey))
            {
                using (var first = await c.SendAsync(original))
                    Assert.Equal(HttpStatusCode.OK, first.StatusCode);
                using var replay = new HttpRequestMessage(HttpMethod.Get, $"{url}/os/small.txt");
                foreach (var header in original.Headers)
                    replay.Headers.TryAddWithoutValidation(header.Key, header.Value);
                using var replayed = await c.SendAsync(replay);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, replayed.StatusCode);
            }

            // Service endpoints are never shed: mirrors need the manifest most during a surge.
            using (var manifest = await b.GetAsync($"{url}/-/manifest.json"))
                Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);

            var samples = PrometheusText.Parse(await b.GetStringAsync($"{url}/-/metrics"));
            double Value(string name, string label, string value, string? outcome = null) => samples.Single(s =>
                s.Name == name && s.Label(label) == value && (outcome is null || s.Label("outcome") == outcome)).Value;
            Assert.Equal(2, Value("downloads_origin_admission_total", "client", "mirror", "served"));
            Assert.Equal(1, Value("downloads_origin_admission_total", "client", "public", "per_client"));
            Assert.Equal(4, Value("downloads_origin_admission_total", "client", "public", "full"));
            Assert.Equal(1, Value("downloads_origin_signature_refused_total", "reason", "bad_signature"));
            Assert.Equal(1, Value("downloads_origin_signature_refused_total", "reason", "unknown_key"));
            Assert.Equal(1, Value("downloads_origin_signature_refused_total", "reason", "replayed"));
        }
        finally
        {
            foreach (var response in held)
                response.Dispose();
        }

        // Closing the held downloads frees their permits.
        await Eventually.TrueAsync(async () =>
        {
            using var again = await b.GetAsync($"{url}/os/small.txt");
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "the public share is free again");
    }

    [Fact]
    public async Task With_limits_off_nothing_is_refused_but_the_bytes_are_still_counted_by_who_asked()
    {
        using var dir = new TempDirectory("origin-limits-off");
        await using var redis = new RedisServer();
        var root = Directory.CreateDirectory(dir.Combine("root")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "os"));
        const int size = 300_000;
        await File.WriteAllBytesAsync(Path.Combine(root, Big), new byte[size]);
        var keyFile = dir.Combine("key");
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", keyFile], new StringWriter()));
        using var mirrorKey = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var db = redis.Admin.GetDatabase();
        await db.SetAddAsync(Keyspace.Mirrors, "uk-cam");
        await db.HashSetAsync(Keyspace.MirrorConfig("uk-cam"), [new("status", "approved"), new("enabled", "1"), new(Keyspace.ConfigFields.PublicKey, PublicKeyOf(mirrorKey))]);

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var app = OriginApp.Build([$"--urls={url}", $"--Origin:Root={root}", $"--Origin:StateDir={dir.Combine("state")}",
            $"--Origin:PrivateKeyFile={keyFile}", $"--Redis:Configuration={redis.Configuration}", "--Limits:MaxRequests=0"]);
        await app.StartAsync();
        await app.Services.GetRequiredService<MirrorKeyDirectory>().RefreshAsync();

        using var client = LoopbackClients.From("127.0.0.2");
        Assert.Equal(size, (await client.GetByteArrayAsync($"{url}/{Big}")).Length);
        using (var signed = await client.SendAsync(Signed($"{url}/{Big}", "uk-cam", mirrorKey)))
            Assert.Equal(size, (await signed.Content.ReadAsByteArrayAsync()).Length);

        // The last block is counted once its flush returns on the server, which may be just after the client has it.
        double Sent(IReadOnlyList<PrometheusSample> samples, string who) =>
            samples.SingleOrDefault(s => s.Name == "downloads_origin_sent_bytes_total" && s.Label("client") == who)?.Value ?? -1;
        IReadOnlyList<PrometheusSample> samples = [];
        await Eventually.TrueAsync(async () =>
        {
            samples = PrometheusText.Parse(await client.GetStringAsync($"{url}/-/metrics"));
            return Sent(samples, "public") == size && Sent(samples, "mirror") == size;
        }, TimeSpan.FromSeconds(10), "both downloads are counted, each by who asked");
        Assert.DoesNotContain(samples, s => s.Name == "downloads_origin_admission_total");
    }

    private static string PublicKeyOf(Key key) => Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    private static HttpRequestMessage Signed(string url, string id, Key key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        RequestSignature.Sign(request, id, key, DateTimeOffset.UtcNow);
        return request;
    }

    private static async Task<HttpResponseMessage> Hold(HttpClient client, string url)
    {
        var response = await client.GetAsync($"{url}/{Big}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }
}
