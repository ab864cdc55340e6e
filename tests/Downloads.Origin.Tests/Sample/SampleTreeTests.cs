using System.Security.Cryptography;
using Downloads.Origin.Sample;
using Downloads.Testing;

namespace Downloads.Origin.Tests.Sample;

public class SampleTreeTests
{
    [Fact]
    public async Task Same_scale_gives_the_same_bytes_and_mtimes_and_a_rerun_writes_nothing()
    {
        using var a = new TempDirectory("sa");
        using var b = new TempDirectory("sb");
        var written = await SampleTree.GenerateAsync(a.Path, SampleScale.Tiny);
        await SampleTree.GenerateAsync(b.Path, SampleScale.Tiny);

        Assert.Equal(9, written.Count);
        foreach (var path in written)
        {
            var fa = Path.Combine(a.Path, path);
            var fb = Path.Combine(b.Path, path);
            Assert.Equal(SHA256.HashData(File.ReadAllBytes(fa)), SHA256.HashData(File.ReadAllBytes(fb)));
            Assert.Equal(File.GetLastWriteTimeUtc(fa), File.GetLastWriteTimeUtc(fb));
        }
        Assert.Empty(await SampleTree.GenerateAsync(a.Path, SampleScale.Tiny));
        Assert.True(Directory.Exists(Path.Combine(a.Path, "noobs")) && Directory.Exists(Path.Combine(a.Path, "os")) && Directory.Exists(Path.Combine(a.Path, "rachel")));
    }
}
