using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Snapshots;
using Downloads.Testing;

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
    public void Read_from_the_bytes_it_equals_the_index_of_the_parsed_manifest()
    {
        var files = new List<ManifestFile>();
        for (var i = 0; i < 300; i++)
        {
            var content = new string('x', i * 3);
            var chunks = Enumerable.Range(0, i == 0 ? 0 : (i * 3 - 1) / 16 + 1)
                .Select(c => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{i}/{c}")))).ToArray();
            files.Add(File($"{(i % 3) switch { 0 => "os", 1 => "noobs", _ => "rachel" }}/f {i}.img", content) with { Chunks = chunks, ChangedAt = i });
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var manifest = new Manifest { Serial = 12, Published = DateTimeOffset.UnixEpoch.AddDays(3), ChunkSize = 16, Files = files };

        var read = ManifestIndex.TryRead(ManifestCodec.Serialize(manifest), new CounterRegistry(), out var error);
        var built = ManifestIndex.Build(manifest, new CounterRegistry());

        Assert.Null(error);
        Assert.NotNull(read);
        Assert.True(read.IsLoaded);
        Assert.Equal((built.Serial, built.Published, built.ChunkSize), (read.Serial, read.Published, read.ChunkSize));
        Assert.Equal(built.Sets.OrderBy(s => s.Value), read.Sets.OrderBy(s => s.Value));
        // Bits in order of first appearance in the (sorted) file list.
        Assert.Equal(["noobs", "os", "rachel"], read.Sets.OrderBy(s => s.Value).Select(s => s.Key));
        Assert.Equal(files.Count, read.Files.Count);
        foreach (var file in files)
        {
            var (a, b) = (built.Files[file.Path], read.Files[file.Path]);
            Assert.Equal((a.Path, a.EscapedPath, a.Size, a.ChangedAt, a.Set, a.SetBit), (b.Path, b.EscapedPath, b.Size, b.ChangedAt, b.Set, b.SetBit));
            Assert.Equal(a.Hashes, b.Hashes);
            Assert.Equal(file.Sha256, b.Sha256Hex);
            Assert.Equal(file.Chunks, Enumerable.Range(0, b.ChunkCount).Select(b.ChunkHex));
        }
        // Every entry of a set shares one string for it.
        Assert.Equal(3, read.Files.Values.Select(f => f.Set).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public void Bytes_with_an_invalid_entry_give_no_index_and_the_reason()
    {
        var manifest = new Manifest { Serial = 2, Files = [File("os/a.img", "alpha") with { Chunks = [] }] };

        var index = ManifestIndex.TryRead(ManifestCodec.Serialize(manifest), new CounterRegistry(), out var error);

        Assert.Null(index);
        Assert.Equal("manifest entry 'os/a.img' has 0 chunk hashes, expected 1 for 5 bytes in chunks of 4194304", error);
    }

    [Fact]
    public void After_a_files_first_redirect_its_digest_headers_allocate_nothing()
    {
        var index = ManifestIndex.Build(new Manifest { Serial = 1, Files = [File("os/a.img", "alpha")] }, new CounterRegistry());
        var entry = index.Files["os/a.img"];
        _ = (entry.Digest, entry.ReprDigest);
        var length = 0;
        Assert.Equal(0, Allocations.Fewest(() =>
        {
            length = 0;
            for (var i = 0; i < 1000; i++)
                length += entry.Digest.Length + entry.ReprDigest.Length;
        }));
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
