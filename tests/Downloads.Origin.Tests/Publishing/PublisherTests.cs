using Downloads.Contracts.Manifests;
using Downloads.Origin.Publishing;
using Downloads.Origin.Sample;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Origin.Tests.Publishing;

public class PublisherTests
{
    private static (OriginOptions Options, string PublicKey) Setup(TempDirectory dir)
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        return (new OriginOptions { Root = dir.Combine("root"), StateDir = dir.Combine("state"), PrivateKey = priv, ChunkSize = 16 * 1024 }, pub);
    }

    private static Publisher PublisherFor(OriginOptions options) => new(options, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task First_publish_hashes_every_file_and_signs_the_exact_bytes()
    {
        using var dir = new TempDirectory("pub");
        var (options, pub) = Setup(dir);
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);

        var result = await PublisherFor(options).PublishAsync();

        Assert.Equal(1, result.Serial);
        Assert.Equal(result.Files, result.Hashed);
        var folder = new StateFolder(options.StateDir);
        var state = folder.Load(folder.ReadCurrentSerial(), out var error);
        Assert.Null(error);
        Assert.True(ManifestSigner.Verify(state!.ManifestBytes, System.Text.Encoding.ASCII.GetString(state.SignatureBytes), pub));
        Assert.Equal(["noobs", "os", "rachel"], state.Manifest.Files.Select(f => f.Set).Distinct().Order().ToArray());
        var big = state.Manifest.Files.Single(f => f.Path == "os/raspios-bookworm-arm64.img.xz");
        await using var stream = File.OpenRead(Path.Combine(options.Root, big.Path));
        var (sha, chunks, length) = await FileHasher.HashAsync(stream, options.ChunkSize);
        Assert.Equal(sha, big.Sha256);
        Assert.Equal(chunks, big.Chunks);
        Assert.Equal(length, big.Size);
        Assert.Equal(1, big.ChangedAt);
    }

    [Fact]
    public async Task Publish_after_editing_one_file_rehashes_only_that_file_and_bumps_its_changed_at()
    {
        using var dir = new TempDirectory("pub");
        var (options, _) = Setup(dir);
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        await PublisherFor(options).PublishAsync();

        var edited = Path.Combine(options.Root, "noobs", "README.txt");
        await File.AppendAllTextAsync(edited, "one more line\n");
        var second = await PublisherFor(options).PublishAsync();

        Assert.Equal(2, second.Serial);
        Assert.Equal(1, second.Hashed);
        Assert.Equal(1, second.Changed);
        foreach (var file in second.State.Manifest.Files)
            Assert.Equal(file.Path == "noobs/README.txt" ? 2 : 1, file.ChangedAt);

        // Touching a file (new mtime, same bytes) re-hashes it but does not count as a change.
        File.SetLastWriteTimeUtc(edited, DateTime.UtcNow.AddMinutes(-5));
        var third = await PublisherFor(options).PublishAsync();
        Assert.Equal(1, third.Hashed);
        Assert.Equal(0, third.Changed);
        Assert.Equal(2, third.State.Manifest.Files.Single(f => f.Path == "noobs/README.txt").ChangedAt);
    }

    [Fact]
    public async Task Deleted_file_leaves_the_manifest_and_top_level_files_are_not_published()
    {
        using var dir = new TempDirectory("pub");
        var (options, _) = Setup(dir);
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        await File.WriteAllTextAsync(Path.Combine(options.Root, "stray.txt"), "not in a set");
        await PublisherFor(options).PublishAsync();
        File.Delete(Path.Combine(options.Root, "rachel", "README.txt"));

        var result = await PublisherFor(options).PublishAsync();

        Assert.DoesNotContain(result.State.Manifest.Files, f => f.Path == "rachel/README.txt");
        Assert.DoesNotContain(result.State.Manifest.Files, f => f.Path == "stray.txt");
        Assert.Equal(0, result.Hashed);
    }

    [Fact]
    public async Task Missing_key_fails_with_a_message_naming_the_setting()
    {
        using var dir = new TempDirectory("pub");
        var (options, _) = Setup(dir);
        options.PrivateKey = null;
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => PublisherFor(options).PublishAsync());
        Assert.Contains("Origin:PrivateKeyFile", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_link_inside_the_root_is_published_as_its_file_and_links_out_dangling_or_looping_are_skipped()
    {
        using var dir = new TempDirectory("pub");
        var (options, _) = Setup(dir);
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        var os = Path.Combine(options.Root, "os");
        var image = Directory.EnumerateFiles(os).Select(Path.GetFileName).First(n => n!.EndsWith(".img.xz", StringComparison.Ordinal))!;
        File.CreateSymbolicLink(Path.Combine(os, "latest.img.xz"), image);
        var secret = dir.Combine("outside.txt");
        await File.WriteAllTextAsync(secret, "not for the mirrors");
        File.CreateSymbolicLink(Path.Combine(os, "leak.txt"), secret);
        File.CreateSymbolicLink(Path.Combine(os, "climb.txt"), "../../outside.txt");
        File.CreateSymbolicLink(Path.Combine(os, "dangling.img"), "nothing-here.img");
        File.CreateSymbolicLink(Path.Combine(os, "loop-a"), "loop-b");
        File.CreateSymbolicLink(Path.Combine(os, "loop-b"), "loop-a");
        Directory.CreateSymbolicLink(Path.Combine(options.Root, "noobs", "etc"), "/etc");

        var result = await PublisherFor(options).PublishAsync();

        var files = result.State.Manifest.Files.ToDictionary(f => f.Path);
        Assert.Equal(files["os/" + image].Sha256, files["os/latest.img.xz"].Sha256);
        Assert.Equal(files["os/" + image].Size, files["os/latest.img.xz"].Size);
        foreach (var skipped in new[] { "os/leak.txt", "os/climb.txt", "os/dangling.img", "os/loop-a", "os/loop-b" })
            Assert.False(files.ContainsKey(skipped), skipped);
        Assert.DoesNotContain(files.Keys, p => p.StartsWith("noobs/etc/", StringComparison.Ordinal));
    }
}
