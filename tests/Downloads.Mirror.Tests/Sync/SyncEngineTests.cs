using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Sync;

public class SyncEngineTests
{
    [Fact]
    public async Task Mirror_syncs_every_file_and_serves_the_origins_exact_bytes()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path);
        await mirror.WaitForSerialAsync(1);

        var manifest = world.CurrentManifest();
        Assert.True(manifest.Files.Count >= 9);
        Assert.Contains(manifest.Files, f => f.Chunks.Count > 10);
        using var http = new HttpClient();
        foreach (var file in manifest.Files)
        {
            var bytes = await http.GetByteArrayAsync($"{mirror.Url}/{file.Path}");
            Assert.Equal(world.OriginBytes(file.Path), bytes);
        }
        Assert.Equal("", mirror.Status.LastError);
        // The mirror re-serves the exact signed manifest for tier-2 mirrors.
        Assert.Equal(await http.GetByteArrayAsync($"{world.OriginUrl}/-/manifest.json"), await http.GetByteArrayAsync($"{mirror.Url}/-/manifest.json"));
    }

    [Fact]
    public async Task Mirror_carries_only_its_configured_sets()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, "--Mirror:Sets=noobs,rachel");
        await mirror.WaitForSerialAsync(1);

        Assert.Contains("noobs/NOOBS_v4_0.zip", mirror.Live.Current.Files.Keys);
        Assert.Contains("rachel/rachel-en-lite.zip", mirror.Live.Current.Files.Keys);
        Assert.DoesNotContain(mirror.Live.Current.Files.Keys, p => p.StartsWith("os/", StringComparison.Ordinal));
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{mirror.Url}/os/raspios-bookworm-arm64.img.xz");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Tier2_mirror_syncs_from_a_tier1_mirror()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data1 = new TempDirectory("m1");
        using var data2 = new TempDirectory("m2");
        var tier1 = await world.StartMirrorAsync("t1", world.OriginUrl, data1.Path);
        await tier1.WaitForSerialAsync(1);
        var tier2 = await world.StartMirrorAsync("t2", tier1.Url, data2.Path);
        await tier2.WaitForSerialAsync(1);

        using var http = new HttpClient();
        foreach (var file in world.CurrentManifest().Files)
            Assert.Equal(world.OriginBytes(file.Path), await http.GetByteArrayAsync($"{tier2.Url}/{file.Path}"));

        // A new serial flows origin → tier 1 → tier 2.
        await File.WriteAllTextAsync(Path.Combine(world.Root, "noobs", "NEW.txt"), "new file\n");
        await world.PublishAsync();
        await tier2.WaitForSerialAsync(2);
        Assert.Equal("new file\n", await http.GetStringAsync($"{tier2.Url}/noobs/NEW.txt"));
    }

    [Fact]
    public async Task Publishing_one_changed_file_fetches_only_that_file()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path);
        await mirror.WaitForSerialAsync(1);
        var before = mirror.Status.BytesFetched;

        var edited = Path.Combine(world.Root, "rachel", "README.txt");
        await File.AppendAllTextAsync(edited, "edited\n");
        await world.PublishAsync();
        await mirror.WaitForSerialAsync(2);

        Assert.Equal(new FileInfo(edited).Length, mirror.Status.BytesFetched - before);
        using var http = new HttpClient();
        Assert.EndsWith("edited\n", await http.GetStringAsync($"{mirror.Url}/rachel/README.txt"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleted_file_is_served_for_the_grace_period_then_removed()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, "--Sync:DeleteGrace=00:00:03");
        await mirror.WaitForSerialAsync(1);
        const string Gone = "noobs/NOOBS_lite_v4_0.zip";
        var sha = mirror.Live.Current.Files[Gone].Entry.Sha256;
        var objectPath = mirror.Live.Current.Files[Gone].PhysicalPath;

        File.Delete(Path.Combine(world.Root, Gone));
        await world.PublishAsync();
        await mirror.WaitForSerialAsync(2);

        using var http = new HttpClient();
        Assert.DoesNotContain(world.CurrentManifest().Files, f => f.Path == Gone);
        Assert.NotNull(mirror.Live.Current.Files[Gone].RetiredUntil);
        using (var during = await http.GetAsync($"{mirror.Url}/{Gone}"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, during.StatusCode);
            Assert.Equal($"\"{sha}\"", during.Headers.ETag?.Tag);
        }
        await Eventually.TrueAsync(() => !mirror.Live.Current.Files.ContainsKey(Gone), TimeSpan.FromSeconds(20), "retired file dropped after grace");
        using (var after = await http.GetAsync($"{mirror.Url}/{Gone}"))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, after.StatusCode);
        Assert.False(File.Exists(objectPath));
    }

    [Fact]
    public async Task Restarted_mirror_serves_from_disk_without_fetching_again()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var first = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path);
        await first.WaitForSerialAsync(1);
        await first.KillAsync();

        // The upstream is now a dead port: everything served must come from disk.
        var second = await world.StartMirrorAsync("m1", $"http://127.0.0.1:{FreePort.Next()}", data.Path);
        Assert.Equal(1, second.Live.Current.Serial);
        using var http = new HttpClient();
        const string Path1 = "os/raspios-bookworm-arm64.img.xz";
        Assert.Equal(world.OriginBytes(Path1), await http.GetByteArrayAsync($"{second.Url}/{Path1}"));
        Assert.Equal(0, second.Status.BytesFetched);
    }

    [Fact]
    public async Task Announcement_on_redis_starts_a_sync_at_once()
    {
        using var redis = new RedisServer();
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path,
            $"--Redis:Configuration={redis.Configuration}", "--Sync:PollInterval=01:00:00");
        await mirror.WaitForSerialAsync(1);
        // Wait until the worker has subscribed (it does so before each pass once Redis is up).
        await Eventually.TrueAsync(async () => (await redis.Admin.GetSubscriber().PublishAsync(Contracts.Redis.Keyspace.Announce, "0")) > 0,
            TimeSpan.FromSeconds(20), "mirror subscribed to announcements");

        await File.WriteAllTextAsync(Path.Combine(world.Root, "os", "NEW.txt"), "announced\n");
        var published = await world.PublishAsync();
        await redis.Admin.GetSubscriber().PublishAsync(Contracts.Redis.Keyspace.Announce, published.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Poll interval is an hour: only the announcement can bring serial 2 in.
        await mirror.WaitForSerialAsync(2, seconds: 20);
        Assert.Contains("os/NEW.txt", mirror.Live.Current.Files.Keys);
    }
}
