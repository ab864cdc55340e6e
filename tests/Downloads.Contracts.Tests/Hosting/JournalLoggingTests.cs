using Downloads.Contracts.Hosting;

namespace Downloads.Contracts.Tests.Hosting;

public sealed class JournalLoggingTests
{
    [Theory]
    [InlineData("8:4711", "socket:[4711]", true)]
    [InlineData("0:12345", "pipe:[12345]", true)]
    [InlineData("8:4711", "socket:[4712]", false)] // inherited from a unit, output now elsewhere
    [InlineData("8:4711", "/dev/pts/0", false)]
    [InlineData(null, "socket:[4711]", false)]
    [InlineData("", "socket:[4711]", false)]
    [InlineData("4711", "socket:[4711]", false)] // not DEVICE:INODE
    [InlineData("8:x", "socket:[4711]", false)]
    [InlineData("8:4711", null, false)]
    public void Stdout_is_the_journal_only_when_it_is_the_stream_JOURNAL_STREAM_names(string? journalStream, string? stdoutTarget, bool expected) =>
        Assert.Equal(expected, JournalLogging.StdoutIsJournal(journalStream, stdoutTarget));
}
