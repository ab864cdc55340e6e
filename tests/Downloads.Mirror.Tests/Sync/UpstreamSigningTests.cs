using System.Net;
using Downloads.Contracts.Identity;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Redis;
using Downloads.Mirror.Sync;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Downloads.Mirror.Tests.Sync;

/// <summary>
/// A mirror signs its upstream requests, so an origin whose public share is full (a surge) still serves its
/// sync from the capacity kept for mirrors; an unsigned mirror waits with the public.
/// </summary>
public sealed class UpstreamSigningTests
{
    [Fact]
    public async Task A_signed_mirror_syncs_from_an_origin_that_sheds_the_public_and_an_unsigned_one_does_not()
    {
        await using var redis = new RedisServer();
        // Public share: 2 - 1 reserved = 1 request at once, held below by a client that never reads its download.
        await using var world = await SyncWorld.StartAsync($"--Redis:Configuration={redis.Configuration}",
            "--Limits:MaxRequests=2", "--Limits:ReservedForMirrors=1", "--Limits:PerClient=1");
        Directory.CreateDirectory(Path.Combine(world.Root, "big"));
        await File.WriteAllBytesAsync(Path.Combine(world.Root, "big", "hold.img"), new byte[64 * 1024 * 1024]);
        await world.PublishAsync();

        var (seed, publicKey) = ManifestSigner.GenerateKeyPair();
        var db = redis.Admin.GetDatabase();
        await db.SetAddAsync(Keyspace.Mirrors, "uk-cam");
        await db.HashSetAsync(Keyspace.MirrorConfig("uk-cam"), [new("status", "approved"), new("enabled", "1"), new(Keyspace.ConfigFields.PublicKey, publicKey)]);
        await world.Origin.Services.GetRequiredService<MirrorKeyDirectory>().RefreshAsync();

        using var surge = LoopbackClients.From("127.0.0.2");
        HttpResponseMessage? held = null;
        await Eventually.TrueAsync(async () =>
        {
            held?.Dispose();
            held = await surge.GetAsync($"{world.OriginUrl}/big/hold.img", HttpCompletionOption.ResponseHeadersRead);
            return held.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "the origin serves the published big file");
        try
        {
            using (var shed = await LoopbackClients.From("127.0.0.3").GetAsync($"{world.OriginUrl}/noobs/README.txt"))
                Assert.Equal(HttpStatusCode.ServiceUnavailable, shed.StatusCode);

            using var unsignedDir = new TempDirectory("unsigned");
            var unsigned = await world.StartMirrorAsync("se-sto", world.OriginUrl, unsignedDir.Path, "--Mirror:Sets=noobs");
            await Eventually.TrueAsync(async () => await PublicRefusalsAsync(world) >= 2, TimeSpan.FromSeconds(10),
                "the unsigned mirror's file requests are refused like the public");

            // The identity key enrollment left in the data folder.
            using var signedDir = new TempDirectory("signed");
            await File.WriteAllTextAsync(Path.Combine(signedDir.Path, UpstreamSigningKey.IdentityFile), seed + "\n");
            var signed = await world.StartMirrorAsync("uk-cam", world.OriginUrl, signedDir.Path, "--Mirror:Sets=noobs");

            var serial = world.CurrentManifest().Serial;
            await signed.WaitForSerialAsync(serial);
            using var http = new HttpClient();
            Assert.Equal(world.OriginBytes("noobs/NOOBS_v4_0.zip"), await http.GetByteArrayAsync($"{signed.Url}/noobs/NOOBS_v4_0.zip"));
            Assert.Equal(0, unsigned.Live.Current.Serial);
        }
        finally
        {
            held?.Dispose();
        }
    }

    private static async Task<double> PublicRefusalsAsync(SyncWorld world)
    {
        using var http = new HttpClient();
        var samples = PrometheusText.Parse(await http.GetStringAsync($"{world.OriginUrl}/-/metrics"));
        return samples.Where(s => s.Name == "downloads_origin_admission_total" && s.Label("client") == "public" && s.Label("outcome") == "full")
            .Sum(s => s.Value);
    }
}
