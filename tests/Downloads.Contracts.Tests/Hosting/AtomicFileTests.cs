using Downloads.Contracts.Hosting;
using Downloads.Testing;

namespace Downloads.Contracts.Tests.Hosting;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class AtomicFileTests
{
    private const UnixFileMode Secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task A_secret_is_never_readable_by_others_not_even_while_it_is_written()
    {
        using var dir = new TempDirectory("atomic");
        var path = dir.Combine("key");
        var data = new byte[64 * 1024 * 1024];
        Random.Shared.NextBytes(data);
        var write = AtomicFile.WriteAllBytesAsync(path, data, Secret);

        // Catch the temporary file while its 64 MB are written and flushed: its mode is already the secret's.
        var seen = new List<UnixFileMode>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!write.IsCompleted && DateTime.UtcNow < deadline)
        {
            foreach (var temp in Directory.EnumerateFiles(dir.Path, ".key.*.tmp"))
            {
                try
                {
                    seen.Add(File.GetUnixFileMode(temp));
                }
                catch (IOException)
                {
                    // Renamed away between the listing and the stat.
                }
            }
        }
        await write;
        Assert.NotEmpty(seen);
        Assert.All(seen, mode => Assert.Equal(Secret, mode));
        Assert.Equal(Secret, File.GetUnixFileMode(path));
        Assert.Equal(data, await File.ReadAllBytesAsync(path));
    }
}
