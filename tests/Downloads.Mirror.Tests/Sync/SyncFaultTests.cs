using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Sync;

public class SyncFaultTests
{
    private const string Big = "os/raspios-bookworm-arm64.img.xz";

    [Fact]
    public async Task Tampered_manifest_is_rejected_and_the_last_verified_serial_kept()
    {
        await using var world = await SyncWorld.StartAsync();
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        await upstream.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path);
        await mirror.WaitForSerialAsync(1);

        upstream.TamperManifest = true;
        await File.WriteAllTextAsync(Path.Combine(world.Root, "noobs", "NEW.txt"), "x\n");
        await world.PublishAsync();
        await Eventually.TrueAsync(() => mirror.Status.LastError.Contains("signature", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "tampered manifest reported");

        Assert.Equal(1, mirror.Live.Current.Serial);
        Assert.DoesNotContain("noobs/NEW.txt", mirror.Live.Current.Files.Keys);
        using var http = new HttpClient();
        Assert.Equal(world.OriginBytes(Big), await http.GetByteArrayAsync($"{mirror.Url}/{Big}"));

        // Once the upstream serves the genuine bytes again, the new serial comes in.
        upstream.TamperManifest = false;
        await mirror.WaitForSerialAsync(2);
        // The serial goes live inside the pass; the error is cleared when the pass returns, a moment later.
        await Eventually.TrueAsync(() => mirror.Status.LastError == "", TimeSpan.FromSeconds(10), $"error cleared (still '{mirror.Status.LastError}')");
    }

    [Fact]
    public async Task An_endless_chunked_manifest_is_refused_at_the_cap_not_buffered()
    {
        await using var world = await SyncWorld.StartAsync();
        await using var upstream = new FaultyUpstream(world.OriginUrl) { EndlessManifest = true };
        await upstream.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path, "--Sync:MaxManifestBytes=1048576");

        await Eventually.TrueAsync(() => mirror.Status.LastError.Contains("larger than 1048576 bytes", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "endless manifest refused");
        Assert.Equal(0, mirror.Live.Current.Serial);
        // The mirror stopped reading soon after the cap: far less than the 256 MiB the upstream would send.
        Assert.InRange(upstream.EndlessBytesSent, 1048576, 64L * 1024 * 1024);

        // A sane manifest again: the sync goes on.
        upstream.EndlessManifest = false;
        await mirror.WaitForSerialAsync(1);
    }

    [Fact]
    public async Task Manifest_signed_with_another_key_is_rejected()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var (_, otherPublic) = ManifestSigner.GenerateKeyPair();
        var mirror = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, $"--Mirror:PublicKey={otherPublic}");

        await Eventually.TrueAsync(() => mirror.Status.LastError.Contains("verifies against neither Mirror:PublicKey nor Mirror:NextPublicKey", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "wrong key reported");
        Assert.Equal(0, mirror.Live.Current.Serial);
        Assert.Empty(mirror.Live.Current.Files);
        Assert.Equal(0, mirror.Status.BytesFetched);
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{mirror.Url}/{Big}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Chunk_corrupted_by_the_upstream_is_detected_and_refetched()
    {
        await using var world = await SyncWorld.StartAsync();
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        upstream.CorruptPath = Big;
        upstream.CorruptOffset = 5 * SyncWorld.ChunkSize + 100;
        upstream.CorruptTimes = 1;
        await upstream.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path);
        await mirror.WaitForSerialAsync(1);

        Assert.Equal(1, upstream.CorruptionsServed);
        using var http = new HttpClient();
        Assert.Equal(world.OriginBytes(Big), await http.GetByteArrayAsync($"{mirror.Url}/{Big}"));
        // The retry resumed at the corrupt chunk: chunks 0-4 were not fetched twice.
        Assert.Equal([0L, 5L * SyncWorld.ChunkSize], upstream.RangeStarts[Big].ToArray());
    }

    [Fact]
    public async Task Upstream_that_keeps_corrupting_a_chunk_is_reported_and_nothing_is_published()
    {
        await using var world = await SyncWorld.StartAsync();
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        upstream.CorruptPath = Big;
        upstream.CorruptOffset = 3 * SyncWorld.ChunkSize;
        upstream.CorruptTimes = int.MaxValue;
        await upstream.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path, "--Sync:CorruptChunkRetries=2");

        await Eventually.TrueAsync(() => mirror.Status.LastError.Contains("corrupt 3 times", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "corrupt upstream reported");
        Assert.Contains(upstream.Url, mirror.Status.LastError, StringComparison.Ordinal);
        Assert.Equal(0, mirror.Live.Current.Serial);
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{mirror.Url}/{Big}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Upstream_cut_mid_file_resumes_without_refetching_verified_chunks()
    {
        await using var world = await SyncWorld.StartAsync();
        await using var upstream = new FaultyUpstream(world.OriginUrl);
        var size = world.CurrentManifest().Files.Single(f => f.Path == Big).Size;
        upstream.AbortPath = Big;
        upstream.AbortAfter = 12 * SyncWorld.ChunkSize + SyncWorld.ChunkSize / 2;
        await upstream.StartAsync();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", upstream.Url, data.Path);
        await mirror.WaitForSerialAsync(1);

        using var http = new HttpClient();
        Assert.Equal(world.OriginBytes(Big), await http.GetByteArrayAsync($"{mirror.Url}/{Big}"));
        // The retry asked only for what was not verified: it starts at a chunk boundary past 0. (The
        // reset may discard bytes still in the mirror's socket buffer, so it may start before chunk 12.)
        var starts = upstream.RangeStarts[Big].ToArray();
        Assert.Equal(2, starts.Length);
        Assert.Equal(0, starts[0]);
        Assert.InRange(starts[1], SyncWorld.ChunkSize, 12L * SyncWorld.ChunkSize);
        Assert.Equal(0, starts[1] % SyncWorld.ChunkSize);
        // The mirror received every byte once, except less than one chunk torn by the cut.
        var total = world.CurrentManifest().Files.Sum(f => f.Size);
        Assert.InRange(mirror.Status.BytesFetched - total, 0, SyncWorld.ChunkSize - 1);
        Assert.Equal(size + (upstream.AbortAfter - starts[1]), upstream.BytesSent[Big]);
    }

    [Fact]
    public async Task Mirror_killed_mid_sync_resumes_after_restart_and_never_serves_a_partial_file()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        var manifest = world.CurrentManifest();
        var total = manifest.Files.Sum(f => f.Size);
        // 256 KB/s: the ~1.5 MB tree takes several seconds, so the kill lands mid-sync.
        var first = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path, "--Sync:BandwidthBytesPerSecond=262144", "--Sync:Parallelism=1");

        using var http = new HttpClient();
        using var stopProbing = new CancellationTokenSource();
        var probes = 0;
        var probing = Task.Run(async () =>
        {
            while (!stopProbing.IsCancellationRequested)
            {
                foreach (var file in manifest.Files)
                {
                    using var response = await http.GetAsync($"{first.Url}/{file.Path}", CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.OK)
                        Assert.Equal(world.OriginBytes(file.Path), await response.Content.ReadAsByteArrayAsync());
                    else
                        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                    probes++;
                }
            }
        });
        await Eventually.TrueAsync(() => first.Status.BytesFetched > total / 3, TimeSpan.FromSeconds(30), "a third of the tree fetched");
        await stopProbing.CancelAsync();
        await probing;
        var fetchedBeforeKill = first.Status.BytesFetched;
        Assert.Equal(0, first.Live.Current.Serial);
        await first.KillAsync();
        Assert.True(probes > 0);

        var second = await world.StartMirrorAsync("m1", world.OriginUrl, data.Path);
        await second.WaitForSerialAsync(1);
        foreach (var file in manifest.Files)
            Assert.Equal(world.OriginBytes(file.Path), await http.GetByteArrayAsync($"{second.Url}/{file.Path}"));
        // Verified chunks survived the kill: the restart fetched only the rest (plus at most the chunk in flight).
        Assert.True(second.Status.BytesFetched <= total - fetchedBeforeKill + SyncWorld.ChunkSize,
            $"restart fetched {second.Status.BytesFetched} of {total}; {fetchedBeforeKill} were fetched before the kill");
    }

    [Fact]
    public async Task Upstream_down_at_start_is_reported_then_the_sync_completes_when_it_returns()
    {
        await using var world = await SyncWorld.StartAsync();
        var port = FreePort.Next();
        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", $"http://127.0.0.1:{port}", data.Path, "--Sync:MaxRetries=1");
        await Eventually.TrueAsync(() => mirror.Status.LastError.Contains($"127.0.0.1:{port}", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "unreachable upstream reported");
        Assert.Equal(0, mirror.Live.Current.Serial);

        await using var upstream = new FaultyUpstream(world.OriginUrl, port);
        await upstream.StartAsync();
        await mirror.WaitForSerialAsync(1);
        Assert.Equal("", mirror.Status.LastError);
    }

    [Fact]
    public async Task Second_mirror_on_the_same_data_folder_is_refused()
    {
        await using var world = await SyncWorld.StartAsync();
        using var data = new TempDirectory("m");
        await world.StartMirrorAsync("m1", world.OriginUrl, data.Path);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => world.StartMirrorAsync("m2", world.OriginUrl, data.Path));
        Assert.Contains("in use by another mirror process", ex.ToString(), StringComparison.Ordinal);
    }
}
