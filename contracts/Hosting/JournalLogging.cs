using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;

namespace Downloads.Contracts.Hosting;

/// <summary>
/// Whether the console logger writes to systemd's journal, so that its <c>systemd</c> formatter is the default
/// there: one line per entry, the level as a syslog priority prefix (<c>&lt;6&gt;</c>, <c>&lt;4&gt;</c>, …)
/// for <c>journalctl -p</c>, no timestamp of its own (the journal stamps each line). systemd sets
/// <c>JOURNAL_STREAM=DEVICE:INODE</c> for a service whose output it connects to the journal; children inherit
/// the variable, so it counts only while standard output still is that stream (its inode, read from
/// <c>/proc/self/fd/1</c>). Under Ansible's process launcher, run.sh or a terminal the variable is absent or
/// names another stream, and the simple formatter stays (docs/ops.md, "Logs").
/// </summary>
public static class JournalLogging
{
    /// <summary>Configuration key of the console logger's formatter (<c>simple</c>, <c>systemd</c>, <c>json</c>).</summary>
    public const string FormatterKey = "Logging:Console:FormatterName";

    /// <summary>
    /// Makes <see cref="FormatterKey"/> take effect: ASP.NET Core's slim builder adds the console logger with
    /// its formatter fixed to <c>simple</c> in code, which overrides the configured name; this applies the
    /// configured one after it. Any formatter's own settings stay under <c>Logging:Console:FormatterOptions</c>.
    /// </summary>
    public static IServiceCollection AddConsoleFormatterSetting(this IServiceCollection services)
    {
        services.AddOptions<ConsoleLoggerOptions>().PostConfigure<IConfiguration>((options, configuration) =>
        {
            if (configuration[FormatterKey] is { Length: > 0 } name)
                options.FormatterName = name;
        });
        return services;
    }

    /// <summary>True when standard output is the journal stream named by <c>JOURNAL_STREAM</c>.</summary>
    public static bool StdoutIsJournal() => StdoutIsJournal(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), StdoutTarget());

    /// <summary>
    /// True when <paramref name="journalStream"/> (<c>DEVICE:INODE</c>) names the same inode as
    /// <paramref name="stdoutTarget"/> (the link text of <c>/proc/self/fd/1</c>, e.g. <c>socket:[4711]</c>).
    /// </summary>
    internal static bool StdoutIsJournal(string? journalStream, string? stdoutTarget)
    {
        if (string.IsNullOrEmpty(journalStream) || string.IsNullOrEmpty(stdoutTarget))
            return false;
        var colon = journalStream.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !ulong.TryParse(journalStream.AsSpan(colon + 1), out var inode))
            return false;
        var open = stdoutTarget.LastIndexOf('[');
        return open >= 0 && stdoutTarget.EndsWith(']')
            && ulong.TryParse(stdoutTarget.AsSpan(open + 1, stdoutTarget.Length - open - 2), out var target) && target == inode;
    }

    private static string? StdoutTarget()
    {
        try
        {
            return new FileInfo("/proc/self/fd/1").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
