using Downloads.Origin.Sample;
using Downloads.Origin.Staging;
using Downloads.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.Origin.Tests.Publishing;

/// <summary>
/// <c>origin publish --release-at T --file FILE --as SET/NAME</c> (issue #14 §1's spelling) stages the file exactly as
/// <c>origin stage</c> does, and refuses bad input with a non-zero exit and one line.
/// </summary>
public sealed class PublishReleaseAtTests
{
    private const string Path = "os/zz-launch-2027.img";
    private static readonly DateTimeOffset Now = new(2027, 2, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Publish_with_release_at_stages_the_file_for_that_time_and_publishes_nothing_now()
    {
        using var dir = new TempDirectory("publish-at");
        var (config, source) = await SetUpAsync(dir);
        var clock = new FakeTimeProvider(Now);
        var output = new StringWriter();
        var error = new StringWriter();

        Assert.True(0 == await OriginCommands.RunAsync(["publish", "--release-at", "2027-02-02T09:00:00Z", "--file", source, "--as", Path, .. config], output, error, clock),
            error.ToString());

        Assert.Matches(@"^staged [0-9a-f]{32} as os/zz-launch-2027\.img: 4096 bytes, release at 2027-02-02T09:00:00Z\n$", output.ToString().ReplaceLineEndings("\n"));
        var id = output.ToString().Split(' ')[1];
        var list = new StringWriter();
        Assert.Equal(0, await OriginCommands.RunAsync(["releases", "list", .. config], list, new StringWriter(), clock));
        Assert.Contains($"{id}  {Path}  4096 bytes  staged, release at 2027-02-02T09:00:00Z", list.ToString(), StringComparison.Ordinal);
        // Nothing public: not in the root, no manifest published by this command.
        Assert.False(File.Exists(System.IO.Path.Combine(dir.Combine("root"), "os", "zz-launch-2027.img")));
        Assert.False(File.Exists(System.IO.Path.Combine(dir.Combine("state"), "current")));
        Assert.False(Directory.Exists(System.IO.Path.Combine(dir.Combine("state"), "manifests")));
    }

    [Theory]
    [InlineData("2027-01-31T09:00:00Z", "is not in the future")]
    [InlineData("2027-02-01T00:00:00Z", "is not in the future")]
    [InlineData("tomorrow at nine", "is not an ISO-8601 UTC time such as 2027-02-02T09:00:00Z")]
    [InlineData("2027-02-02T09:00:00+01:00", "is not an ISO-8601 UTC time")]
    public async Task Publish_with_a_bad_release_time_fails_with_one_line(string releaseAt, string message)
    {
        using var dir = new TempDirectory("publish-at");
        var (config, source) = await SetUpAsync(dir);
        await AssertRefusedAsync(dir, ["publish", "--release-at", releaseAt, "--file", source, "--as", Path, .. config], message);
        // The same words as `origin stage`, which it delegates to.
        await AssertRefusedAsync(dir, ["stage", source, "--as", Path, "--release-at", releaseAt, .. config], message);
    }

    [Fact]
    public async Task Publish_with_half_a_release_fails_with_one_line_and_stages_nothing()
    {
        using var dir = new TempDirectory("publish-at");
        var (config, source) = await SetUpAsync(dir);
        await AssertRefusedAsync(dir, ["publish", "--release-at", "2027-02-02T09:00:00Z", .. config], "give --file FILE and --as SET/NAME");
        await AssertRefusedAsync(dir, ["publish", "--release-at", "2027-02-02T09:00:00Z", "--file", source, .. config], "give --file FILE and --as SET/NAME");
        // The stage command's positional spelling is not publish's: FILE alone is a setting, not a file.
        await AssertRefusedAsync(dir, ["publish", source, "--as", Path, "--release-at", "2027-02-02T09:00:00Z", .. config], "give --file FILE and --as SET/NAME");
        await AssertRefusedAsync(dir, ["publish", "--file", source, "--as", Path, .. config], "add --release-at T");
        await AssertRefusedAsync(dir, ["publish", "--release-at", "2027-02-02T09:00:00Z", "--file", source, "--as", "../etc/passwd", .. config], "is not a publishable path");
        await AssertRefusedAsync(dir, ["publish", "--release-at", "2027-02-02T09:00:00Z", "--file", dir.Combine("missing.img"), "--as", Path, .. config], "missing.img");
    }

    private static async Task AssertRefusedAsync(TempDirectory dir, string[] args, string message)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.NotEqual(0, await OriginCommands.RunAsync(args, output, error, new FakeTimeProvider(Now)));
        var lines = error.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        var line = Assert.Single(lines);
        Assert.StartsWith($"origin {args[0]}: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
        Assert.Empty(new Stager(new OriginOptions { Root = dir.Combine("root"), StateDir = dir.Combine("state") }, new FakeTimeProvider(Now),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Folder.LoadRecords());
    }

    private static async Task<(string[] Config, string Source)> SetUpAsync(TempDirectory dir)
    {
        var root = dir.Combine("root");
        await SampleTree.GenerateAsync(root, SampleScale.Tiny);
        var key = dir.Combine("key");
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", key], new StringWriter()));
        var source = dir.Combine("launch.img");
        await File.WriteAllBytesAsync(source, new byte[4096]);
        return ([$"--Origin:Root={root}", $"--Origin:StateDir={dir.Combine("state")}", $"--Origin:PrivateKeyFile={key}", "--Origin:ChunkSize=16384"], source);
    }
}
