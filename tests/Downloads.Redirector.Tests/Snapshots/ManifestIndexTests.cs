using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Tests.Snapshots;

public class ManifestIndexTests
{
    private static ManifestFile File(string path, string content) => new()
    {
        Path = path,
        Size = content.Length,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content))),
        ChangedAt = 3,
        Chunks = [Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))],
    };

    [Fact]
    public void Digest_headers_built_on_first_use_equal_the_base64_of_the_whole_file_hash()
    {
        var files = new[] { File("os/a.img", "alpha"), File("os/b.img", "beta"), File("noobs/c d.zip", "") };
        var index = ManifestIndex.Build(new Manifest { Serial = 1, Files = files }, new CounterRegistry());

        foreach (var file in files)
        {
            var b64 = Convert.ToBase64String(Convert.FromHexString(file.Sha256));
            var entry = index.Files[file.Path];
            Assert.Equal($"SHA-256={b64}", entry.Digest);
            Assert.Equal($"sha-256=:{b64}:", entry.ReprDigest);
            // Kept after the first use: later redirects of the file send the same instance, allocating nothing.
            Assert.Same(entry.Digest, entry.Digest);
            Assert.Same(entry.ReprDigest, entry.ReprDigest);
        }
    }

    [Fact]
    public void After_a_files_first_redirect_its_digest_headers_allocate_nothing()
    {
        var index = ManifestIndex.Build(new Manifest { Serial = 1, Files = [File("os/a.img", "alpha")] }, new CounterRegistry());
        var entry = index.Files["os/a.img"];
        _ = (entry.Digest, entry.ReprDigest);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var length = 0;
        for (var i = 0; i < 1000; i++)
            length += entry.Digest.Length + entry.ReprDigest.Length;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000 * (52 + 54), length);
    }

    [Fact]
    public void Racing_first_uses_of_a_digest_header_all_get_one_instance()
    {
        var index = ManifestIndex.Build(new Manifest { Serial = 1, Files = [File("os/a.img", "alpha")] }, new CounterRegistry());
        var entry = index.Files["os/a.img"];
        using var start = new Barrier(8);
        var seen = new string[8];
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            seen[i] = entry.ReprDigest;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(seen, s => Assert.Same(seen[0], s));
    }
}
