using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Mirror.Sync;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Sync;

/// <summary>Issue #15 §10: replayed and expired signed manifests; §15: a key rotation with current + next keys.</summary>
public class RollbackTests
{
    private const string File1 = "noobs/NOOBS_v4_0.zip";

    private static (byte[] Bytes, string Signature) Published(SyncWorld world, long serial)
    {
        var path = Path.Combine(world.OriginOptions.StateDir, "manifests", $"{serial}.json");
        return (File.ReadAllBytes(path), File.ReadAllText(path + ".sig").Trim());
    }

    private static async Task<string> MetricsAsync(MirrorHandle mirror)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"{mirror.Url}/-/metrics");
    }

    private static async Task AssertServesAsync(MirrorHandle mirror, SyncWorld world)
    {
        using var http = new HttpClient();
        Assert.Equal(world.OriginBytes(File1), await http.GetByteArrayAsync($"{mirror.Url}/{File1}"));
    }

    [Fact]
    public async Task A_replayed_older_signed_manifest_is_refused_after_a_restart_even_with_the_live_record_lost()
    {
        await using var world = await SyncWorld.StartAsync();
        var first = Published(world, 1);
        await File.WriteAllTextAsync(Path.Combine(world.Root, "noobs", "NEW.txt"), "new\n");
        await world.PublishAsync();
        var second = Published(world, 2);
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path);
        await mirror.WaitForSerialAsync(2);
        Assert.Equal(2, HighestSerial.Read(Path.Combine(data.Path, HighestSerial.FileName)));
        await mirror.KillAsync();

        // Restarted against an upstream replaying serial 1 (validly signed): refused, serial 2 keeps serving.
        await using var replay = new FaultyUpstream(world.OriginUrl);
        await replay.StartAsync();
        replay.Replay = first;
        var restarted = await world.StartMirrorAsync("m1", replay.Url, data.Path);
        await replay.FetchedAgainAsync(2, "the restarted mirror polled the replayed manifest");
        Assert.Equal(2, restarted.Live.Current.Serial);
        await AssertServesAsync(restarted, world);
        await restarted.KillAsync();

        // With its live record gone too, the persisted floor still refuses serial 1 (nothing is better than a rollback)...
        File.Delete(Path.Combine(data.Path, "live.json"));
        var bare = await world.StartMirrorAsync("m1", replay.Url, data.Path);
        await replay.FetchedAgainAsync(2, "the bare mirror polled the replayed manifest");
        Assert.Equal(0, bare.Live.Current.Serial);
        // ...and accepts serial 2 again, which is not a rollback.
        replay.Replay = second;
        await bare.WaitForSerialAsync(2);
        await AssertServesAsync(bare, world);
    }

    [Fact]
    public async Task A_newer_manifest_that_arrives_expired_is_held_back_and_flagged_while_the_last_good_one_serves()
    {
        await using var world = await SyncWorld.StartAsync();
        var now = DateTimeOffset.UtcNow;
        var fresh = world.CurrentManifest();
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        await upstream.StartAsync();
        upstream.Replay = Published(world, 1);
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path);
        await mirror.WaitForSerialAsync(1);
        Assert.Contains("downloads_mirror_manifest_expired 0", await MetricsAsync(mirror), StringComparison.Ordinal);

        upstream.Publish(fresh with { Serial = 2, Published = now.AddDays(-30), Expires = now.AddDays(-23) }, world.PrivateKey);
        await Eventually.TrueAsync(() => mirror.Status.HeldBackExpired == 2, TimeSpan.FromSeconds(30), "serial 2 held back as expired");
        Assert.Equal(1, mirror.Live.Current.Serial);
        Assert.Contains("expired", mirror.Status.LastError, StringComparison.Ordinal);
        Assert.Contains("downloads_mirror_manifest_expired 1", await MetricsAsync(mirror), StringComparison.Ordinal);
        await AssertServesAsync(mirror, world);

        upstream.Publish(fresh with { Serial = 3, Published = now, Expires = now.AddDays(7) }, world.PrivateKey);
        await mirror.WaitForSerialAsync(3);
        Assert.Equal(0, mirror.Status.HeldBackExpired);
        Assert.Contains("downloads_mirror_manifest_expired 0", await MetricsAsync(mirror), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_manifest_with_nothing_better_is_served_and_flagged_never_a_reason_to_stop()
    {
        await using var world = await SyncWorld.StartAsync();
        var now = DateTimeOffset.UtcNow;
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        await upstream.StartAsync();
        upstream.Publish(world.CurrentManifest() with { Published = now.AddDays(-30), Expires = now.AddDays(-23) }, world.PrivateKey);
        using var data = new TempDirectory("m");

        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path);
        await mirror.WaitForSerialAsync(1);

        await AssertServesAsync(mirror, world);
        Assert.Contains("downloads_mirror_manifest_expired 1", await MetricsAsync(mirror), StringComparison.Ordinal);
        Assert.Contains("expired", mirror.Status.ReportedError(mirror.Live.Current, DateTimeOffset.UtcNow), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_rotation_leaves_behind_only_the_mirror_without_the_next_key_and_it_keeps_serving()
    {
        await using var world = await SyncWorld.StartAsync();
        var (nextPrivate, nextPublic) = ManifestSigner.GenerateKeyPair();
        var now = DateTimeOffset.UtcNow;
        var manifest = world.CurrentManifest();
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        await upstream.StartAsync();
        upstream.Replay = Published(world, 1);
        using var readyData = new TempDirectory("ready");
        using var behindData = new TempDirectory("behind");
        var ready = await world.StartMirrorAsync("ready", upstream.Url, readyData.Path, $"--Mirror:NextPublicKey={nextPublic}");
        var behind = await world.StartMirrorAsync("behind", upstream.Url, behindData.Path);
        await ready.WaitForSerialAsync(1);
        await behind.WaitForSerialAsync(1);
        Assert.Contains("downloads_mirror_manifest_key{key=\"current\"} 1", await MetricsAsync(ready), StringComparison.Ordinal);

        // The origin switches to the next key.
        upstream.Publish(manifest with { Serial = 2, Published = now, Expires = now.AddDays(7) }, nextPrivate);
        await ready.WaitForSerialAsync(2);
        Assert.Equal(PinnedKey.Next, ready.Status.ManifestKey);
        Assert.Contains("downloads_mirror_manifest_key{key=\"next\"} 1", await MetricsAsync(ready), StringComparison.Ordinal);
        await Eventually.TrueAsync(() => behind.Status.LastError.Contains("neither", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the mirror without the next key refuses serial 2");
        Assert.Equal(1, behind.Live.Current.Serial);
        Assert.Contains("downloads_mirror_manifest_key{key=\"current\"} 1", await MetricsAsync(behind), StringComparison.Ordinal);
        await AssertServesAsync(behind, world);
        await ready.KillAsync();

        // Next promoted to current, the old key dropped: the live record (signed by the new key) loads, syncing goes on.
        var promoted = await world.StartMirrorAsync("ready", upstream.Url, readyData.Path, $"--Mirror:PublicKey={nextPublic}", "--Mirror:NextPublicKey=");
        Assert.Equal(2, promoted.Live.Current.Serial);
        Assert.Equal(PinnedKey.Current, promoted.Status.ManifestKey);
        upstream.Publish(manifest with { Serial = 3, Published = now, Expires = now.AddDays(7) }, nextPrivate);
        await promoted.WaitForSerialAsync(3);
        await AssertServesAsync(promoted, world);
    }

    [Fact]
    public async Task A_next_key_that_is_not_a_32_byte_key_stops_the_start()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => world.StartMirrorAsync("m1", world.OriginUrl, data.Path, "--Mirror:NextPublicKey=AAAA"));

        Assert.Contains("NextPublicKey", error.Message, StringComparison.Ordinal);
    }
}
