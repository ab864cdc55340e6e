using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Hosting;

/// <summary>
/// The shape of a built service's log output where it goes (docs/ops.md, "Logs"): under systemd (standard
/// output is the stream <c>JOURNAL_STREAM</c> names) one line per entry with the level as a syslog priority and
/// no timestamp of its own; JSON lines with <c>Logging:Console:FormatterName=json</c>; elsewhere the simple format.
/// The redirector is started with an origin that does not answer, so it logs warnings as well as information.
/// </summary>
[Collection(QuietNetwork.Collection)]
public sealed partial class LogFormatTests(QuietNetwork net)
{
    /// <summary>The systemd formatter: <c>&lt;PRIORITY&gt;Category[EventId] message</c>.</summary>
    [GeneratedRegex(@"^<[0-7]>[A-Za-z0-9_.]+\[\d+\] \S")]
    private static partial Regex JournalLine();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")]
    private static partial Regex Timestamp();

    private async Task<string[]> LinesAsync(string? journalStream, params string[] extra)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var closed = $"http://127.0.0.1:{FreePort.Next()}";
        await using var redirector = net.StartRedirectorWith(journalStream, url, [$"--Redirector:Origin={closed}", .. extra]);
        await net.UntilAsync(redirector, $"{url}/-/health", HttpStatusCode.ServiceUnavailable);
        // Both an information line (listening) and a warning (the manifest fetch failing).
        await Eventually.TrueAsync(() => redirector.Output.Contains("Now listening on", StringComparison.Ordinal)
            && redirector.Output.Contains("Manifest refresh failed", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the start and a failed manifest fetch logged");
        await Task.Delay(300);
        return redirector.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task Under_systemd_each_entry_is_one_line_with_its_priority_and_no_timestamp()
    {
        var lines = await LinesAsync("stdout");
        var odd = lines.Where(l => !JournalLine().IsMatch(l)).ToArray();
        Assert.True(odd.Length == 0, "not in the journal's format:\n" + string.Join("\n", odd));
        Assert.DoesNotContain(lines, l => Timestamp().IsMatch(l));
        Assert.Contains(lines, l => l.StartsWith("<6>Microsoft.Hosting.Lifetime[", StringComparison.Ordinal) && l.Contains("Now listening on", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("<4>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_inherited_JOURNAL_STREAM_that_is_not_standard_output_keeps_the_simple_format()
    {
        var lines = await LinesAsync("8:4711");
        Assert.Contains(lines, l => l.StartsWith("info: Microsoft.Hosting.Lifetime[", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => JournalLine().IsMatch(l));
    }

    [Fact]
    public async Task The_json_formatter_writes_one_JSON_object_per_line()
    {
        var lines = await LinesAsync("stdout", "--Logging:Console:FormatterName=json");
        var levels = new HashSet<string>();
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.True(root.TryGetProperty("Category", out _) && root.TryGetProperty("Message", out _), line);
            levels.Add(root.GetProperty("LogLevel").GetString()!);
        }
        Assert.Contains("Information", levels);
        Assert.Contains("Warning", levels);
    }
}
