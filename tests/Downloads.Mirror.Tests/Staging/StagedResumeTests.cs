using System.Security.Cryptography;
using Downloads.Mirror.Staging;
using Downloads.Mirror.Tests.Sync;
using Downloads.Origin.Staging;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Mirror.Tests.Staging;

/// <summary>A staged ciphertext fetch cut off midway resumes after its last verified chunk instead of at byte 0.</summary>
public class StagedResumeTests
{
    [Fact]
    public async Task A_cut_off_ciphertext_fetch_resumes_after_the_last_verified_chunk()
    {
        await using var world = await SyncWorld.StartAsync();
        var source = world.Dir.Combine("secret.img");
        await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(200_003));
        var record = await new Stager(world.OriginOptions, TimeProvider.System, NullLogger.Instance)
            .StageAsync(source, "os/zz-secret-launch-2027.img", DateTimeOffset.UtcNow.AddHours(1));
        var cipher = await File.ReadAllBytesAsync(new StagingFolder(world.OriginOptions.StateDir).CipherPath(record.Id));
        const int chunk = SyncWorld.ChunkSize + 16;
        await using var faulty = new FaultyUpstream(world.OriginUrl);
        var path = "-/staged/" + record.Id;
        // Cut in the middle of the seventh chunk: six verify and are kept.
        faulty.AbortPath = path;
        faulty.AbortAfter = 6 * chunk + 1000;
        await faulty.StartAsync();

        using var data = new TempDirectory("m");
        var mirror = await world.StartMirrorAsync("m1", faulty.Url, data.Path, "--Staging:PollInterval=00:00:00.200", "--Staging:MinFreeBytes=0");
        var staged = mirror.App.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => staged.Held.Contains(record.Id), TimeSpan.FromSeconds(60), $"ciphertext held (last error: {staged.LastError})");

        Assert.Equal(cipher, await File.ReadAllBytesAsync(Path.Combine(data.Path, "staging", record.Id + ".bin")));
        Assert.Equal([0L, 6L * chunk], faulty.RangeStarts[path].ToArray());
        // What was sent: the cut-off attempt, then only from the seventh chunk on.
        Assert.Equal(6L * chunk + 1000 + (cipher.Length - 6L * chunk), faulty.BytesSent[path]);
    }
}
