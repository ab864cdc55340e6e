using System.Net;
using System.Security.Cryptography;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Tests.Sync;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Downloads.Mirror.Tests.Staging.StagingSetup;

namespace Downloads.Mirror.Tests.Staging;

/// <summary>
/// The first seconds of a release on a mirror that staged the file: redirectors send clients here before the mirror has
/// the new serial live, so a request for the released file waits for the local decrypt (never a 404 in that window) and
/// gets the verified file as soon as it is ready, ahead of the rest of the serial (here an ordinary new file it fetches
/// over a 10 kB/s link).
/// </summary>
public class ReleaseWaitsTests
{
    [Fact]
    public async Task A_request_that_arrives_with_the_release_waits_for_the_decrypt_and_gets_the_verified_file_ahead_of_its_serial()
    {
        await using var world = await SyncWorld.StartAsync();
        var (secret, record, releaseAt) = await StageAsync(world, 50_003);
        using var data = new TempDirectory("m");
        var first = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, Fast);
        await first.WaitForSerialAsync(1);
        await HeldAsync(first, record.Id, 60);
        await first.App.StopAsync();
        await first.App.DisposeAsync();
        // The same mirror again, now on a 10 kB/s link: it starts from what it holds on disk.
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, [.. Fast, "--Sync:BandwidthBytesPerSecond=10000"]);
        await mirror.WaitForSerialAsync(1);
        var staged = mirror.App.Services.GetRequiredService<StagedCiphertexts>();
        Assert.Contains(record.Id, staged.Held);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var before = await http.GetAsync($"{mirror.Url}/{SecretPath}");
        Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        var serialBefore = mirror.Live.Current.Serial;

        // The release serial also carries a new 500 kB file: ~50 s at this mirror's link, so its serial stays behind.
        await File.WriteAllBytesAsync(Path.Combine(world.Root, "noobs", "zz-update.zip"), RandomNumberGenerator.GetBytes(500_000));
        var release = await ReleaseAsync(world, releaseAt);
        Assert.Equal(1, release.Released);
        var serial = release.Publication!.Serial;
        // What the sync worker does on the Redis announcement (this world has no Redis): misses wait for the pass's plan.
        mirror.App.Services.GetRequiredService<ReleaseWaits>().Announced(serial);

        // A client sent by a redirector at once: it waits, then gets the file, verified, while the serial is not live yet.
        using (var response = await http.GetAsync($"{mirror.Url}/{SecretPath}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(secret, await response.Content.ReadAsByteArrayAsync());
        }
        Assert.Equal(serialBefore, mirror.Live.Current.Serial);
        Assert.True(mirror.Live.Current.Serial < serial);
        // Ranges and HEAD as for any file.
        using (var range = new HttpRequestMessage(HttpMethod.Get, $"{mirror.Url}/{SecretPath}"))
        {
            range.Headers.Range = new(10, 19);
            using var response = await http.SendAsync(range);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(secret.AsSpan(10, 10).ToArray(), await response.Content.ReadAsByteArrayAsync());
        }
        // Redirectors keep counting it as held until the serial is live: the id stays in what the mirror reports.
        Assert.Contains(record.Id, staged.Held);
        // A path that is not released misses as before, word for word.
        var missing = await http.GetAsync($"{mirror.Url}/os/not-released.img");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains($"'os/not-released.img' is not in serial {serialBefore} on this mirror", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
