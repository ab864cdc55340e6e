using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Health;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Tests.Health;

public class SnapshotManifestSourceTests
{
    private static ManifestFile File(string path, long changedAt) => new()
    {
        Path = path, Size = 10, Sha256 = new string('a', 64), ChangedAt = changedAt, Chunks = [new string('b', 64)],
    };

    private static RoutingSnapshot Snapshot(long serial, List<ManifestFile> files) => new()
    {
        Index = ManifestIndex.Build(new Manifest { Serial = serial, ChunkSize = 16, Files = files }, new CounterRegistry()),
        Mirrors = [],
        Http = MirrorTable.Empty,
        Https = MirrorTable.Empty,
    };

    [Fact]
    public void Probe_sample_is_small_per_set_keeps_the_oldest_files_and_follows_the_serial()
    {
        var files = new List<ManifestFile>();
        for (var i = 0; i < 1000; i++)
            files.Add(File($"os/img-{i:0000}.xz", changedAt: 1 + i % 50));
        for (var i = 0; i < 10; i++)
            files.Add(File($"rachel/r-{i}.zip", changedAt: 7));
        files.Add(new ManifestFile { Path = "noobs/empty.txt", Size = 0, Sha256 = new string('c', 64), ChangedAt = 1 });
        var holder = new SnapshotHolder();
        var source = new SnapshotManifestSource(holder);
        Assert.Null(source.Current);

        holder.Publish(Snapshot(50, files));
        var sample = source.Current!;

        Assert.Equal(50, sample.Serial);
        Assert.Equal(SnapshotManifestSource.PerSet, sample.Files.Count(f => f.Set == "os"));
        Assert.Equal(10, sample.Files.Count(f => f.Set == "rachel"));
        Assert.DoesNotContain(sample.Files, f => f.Size == 0);
        // A mirror still at serial 1 has files to be probed on.
        Assert.Contains(sample.Files, f => f.Set == "os" && f.ChangedAt == 1);
        Assert.Contains(sample.Files, f => f.Set == "os" && f.ChangedAt == 50);
        Assert.All(sample.Files, f => Assert.Equal(new string('b', 64), Assert.Single(f.Chunks)));
        Assert.Same(sample, source.Current);

        holder.Publish(Snapshot(51, files));
        Assert.Equal(51, source.Current!.Serial);
    }
}
