using System.Net;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Tests.Sync;
using Downloads.Origin.Staging;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using static Downloads.Mirror.Tests.Staging.StagingSetup;

namespace Downloads.Mirror.Tests.Staging;

public class StagedPrefetchTests
{
    [Fact]
    public async Task Mirror_holds_only_ciphertext_before_the_time_and_decrypts_it_at_release_without_a_download()
    {
        await using var world = await SyncWorld.StartAsync();
        var (secret, record, releaseAt) = await StageAsync(world, 100_003);
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, Fast);
        await mirror.WaitForSerialAsync(1);
        var staged = await HeldAsync(mirror, record.Id, 30);

        // What the mirror holds is the origin's ciphertext, not the file; nothing of it is served or counted by name.
        var held = await File.ReadAllBytesAsync(HeldPath(data.Path, record.Id));
        Assert.Equal(await OriginCipherAsync(world, record.Id), held);
        Assert.False(held.AsSpan().IndexOf(secret.AsSpan(0, 64)) >= 0);
        Assert.DoesNotContain(Directory.EnumerateFiles(data.Path, "*", SearchOption.AllDirectories), f => f.Contains(record.Sha256, StringComparison.Ordinal));
        using var http = new HttpClient();
        using (var response = await http.GetAsync($"{mirror.Url}/{SecretPath}"))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        foreach (var probe in new[] { "/-/metrics", "/-/manifest.json", "/-/health", "/-/staging.json", "/-/staged/" + record.Id })
        {
            using var response = await http.GetAsync(mirror.Url + probe);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("zz-secret", body, StringComparison.Ordinal);
            Assert.DoesNotContain(record.Sha256, body, StringComparison.Ordinal);
        }

        // The release, done by the origin's own code at a (fake) later time; the mirror must not download the file.
        var fetchedBefore = mirror.Status.BytesFetched;
        var release = await ReleaseAsync(world, releaseAt);
        Assert.Equal(1, release.Released);
        await mirror.WaitForSerialAsync(release.Publication!.Serial);
        Assert.Equal(secret, await http.GetByteArrayAsync($"{mirror.Url}/{SecretPath}"));
        Assert.Equal(fetchedBefore, mirror.Status.BytesFetched);
        Assert.DoesNotContain(record.Id, staged.Held);
    }

    [Fact]
    public async Task A_tier2_mirror_stages_from_its_tier1_mirror()
    {
        await using var world = await SyncWorld.StartAsync();
        var (_, record, _) = await StageAsync(world, 70_001);
        using var data1 = new TempDirectory("m1");
        using var data2 = new TempDirectory("m2");
        var tier1 = await world.StartMirrorAsync("t1", world.OriginUrl, data1.Path, Fast);
        var tier2 = await world.StartMirrorAsync("t2", tier1.Url, data2.Path, Fast);
        var staged2 = tier2.App.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => staged2.Held.Contains(record.Id), TimeSpan.FromSeconds(30), $"tier-2 holds the ciphertext ({staged2.LastError})");

        Assert.Equal(await OriginCipherAsync(world, record.Id), await File.ReadAllBytesAsync(HeldPath(data2.Path, record.Id)));
        using var http = new HttpClient();
        Assert.Equal(await http.GetByteArrayAsync($"{world.OriginUrl}/-/staging.json"), await http.GetByteArrayAsync($"{tier1.Url}/-/staging.json"));
        using var unknown = await http.GetAsync($"{tier1.Url}/-/staged/{new string('0', 32)}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_release_purges_its_ciphertext_from_the_mirror()
    {
        await using var world = await SyncWorld.StartAsync();
        var (_, record, _) = await StageAsync(world, 40_000);
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, Fast);
        var staged = await HeldAsync(mirror, record.Id, 30);

        await new Stager(world.OriginOptions, TimeProvider.System, NullLogger.Instance).CancelAsync(record.Id);

        await Eventually.TrueAsync(() => !File.Exists(HeldPath(data.Path, record.Id)), TimeSpan.FromSeconds(30), "ciphertext purged");
        Assert.Empty(staged.Held);
    }

    [Fact]
    public async Task A_mirror_without_the_disk_space_stages_nothing_and_reports_the_shortfall()
    {
        await using var world = await SyncWorld.StartAsync();
        var (_, record, _) = await StageAsync(world, 40_000);
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, "--Staging:PollInterval=00:00:00.200", $"--Staging:MinFreeBytes={1L << 60}");
        var staged = mirror.App.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => staged.ShortfallBytes > 0, TimeSpan.FromSeconds(30), "a shortfall reported");

        Assert.Contains("bytes short", staged.LastError, StringComparison.Ordinal);
        Assert.Empty(staged.Held);
        Assert.False(File.Exists(Path.Combine(data.Path, "staging", record.Id + ".part")));
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"{mirror.Url}/-/metrics");
        Assert.Matches(@"(?m)^downloads_mirror_staging_shortfall_bytes [1-9]", metrics);
    }
}
