using Downloads.Mirror.Tests.Sync;
using Downloads.Testing;
using static Downloads.Mirror.Tests.Staging.StagingSetup;

namespace Downloads.Mirror.Tests.Staging;

/// <summary>A staged ciphertext fetch cut off midway resumes after its last verified chunk instead of at byte 0.</summary>
public class StagedResumeTests
{
    [Fact]
    public async Task A_cut_off_ciphertext_fetch_resumes_after_the_last_verified_chunk()
    {
        await using var world = await SyncWorld.StartAsync();
        var (_, record, _) = await StageAsync(world, 200_003);
        var cipher = await OriginCipherAsync(world, record.Id);
        const int chunk = SyncWorld.ChunkSize + 16;
        await using var faulty = new FaultyUpstream(world.OriginUrl);
        var path = "-/staged/" + record.Id;
        // Cut in the middle of the seventh chunk: six verify and are kept.
        faulty.AbortPath = path;
        faulty.AbortAfter = 6 * chunk + 1000;
        await faulty.StartAsync();

        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", faulty.Url, data.Path, Fast);
        await HeldAsync(mirror, record.Id, 60);

        Assert.Equal(cipher, await File.ReadAllBytesAsync(HeldPath(data.Path, record.Id)));
        // The reset can drop bytes already flushed but not yet read (a busy box lost two chunks once): the fetch
        // resumes at a chunk boundary after what it verified, at most the six sent whole, never at byte 0.
        var starts = faulty.RangeStarts[path].ToArray();
        Assert.Equal(2, starts.Length);
        Assert.Equal(0L, starts[0]);
        Assert.InRange(starts[1], chunk, 6L * chunk);
        Assert.Equal(0L, starts[1] % chunk);
        // What was sent: the cut-off attempt, then only from there on.
        Assert.Equal(6L * chunk + 1000 + (cipher.Length - starts[1]), faulty.BytesSent[path]);
    }
}
