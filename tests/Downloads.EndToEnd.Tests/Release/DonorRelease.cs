namespace Downloads.EndToEnd.Tests.Release;

/// <summary>
/// The release archives under test: those of <c>DOWNLOADS_RELEASE_DIR</c> when set (test.sh runs release.sh
/// once for every RID it can build, and the Ansible run deploys the same archives), else release.sh run
/// here for linux-x64 into <c>.artifacts/test-release</c>, signed with a throwaway minisign key (an
/// unchanged tree makes the next run there a matter of seconds).
/// </summary>
internal static class DonorRelease
{
    private static readonly Lazy<Task<string>> Folder = new(LocateAsync);

    /// <summary>The folder holding the archives, SHA256SUMS, its signature and minisign.pub.</summary>
    public static Task<string> FolderAsync() => Folder.Value;

    /// <summary>The repository's root (where release.sh is).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "release.sh")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"release.sh not found above {AppContext.BaseDirectory}");
    }

    private static async Task<string> LocateAsync()
    {
        var given = Environment.GetEnvironmentVariable("DOWNLOADS_RELEASE_DIR");
        if (!string.IsNullOrEmpty(given))
        {
            Assert.True(File.Exists(Path.Combine(given, "SHA256SUMS")), $"DOWNLOADS_RELEASE_DIR={given} holds no SHA256SUMS: run release.sh --out {given}");
            return given;
        }
        var root = RepositoryRoot();
        var folder = Path.Combine(root, ".artifacts", "test-release");
        var keys = Path.Combine(root, ".artifacts", "test-release-key");
        Directory.CreateDirectory(keys);
        var secret = Path.Combine(keys, "minisign.key");
        if (!File.Exists(secret))
            await Command.RunOkAsync("minisign", keys, TimeSpan.FromSeconds(30), "-G", "-W", "-p", Path.Combine(keys, "minisign.pub"), "-s", secret);
        await Command.RunOkAsync(Path.Combine(root, "release.sh"), root, TimeSpan.FromMinutes(12), "--out", folder, "--rid", "linux-x64", "--key", secret);
        return folder;
    }
}
