using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Downloads.Origin.Staging;

/// <summary>
/// <c>origin stage FILE --as SET/NAME --release-at 2027-02-02T09:00:00Z</c> and
/// <c>origin releases list | move ID --release-at T | cancel ID</c>, with the same <c>--Origin:*</c> settings as the
/// service. The running origin picks the changes up at its next tick (<c>Origin:ReloadInterval</c>).
/// </summary>
public static class StagingCommands
{
    /// <summary>The staging verb.</summary>
    public const string StageName = "stage";

    /// <summary>The release-management verb.</summary>
    public const string ReleasesName = "releases";

    /// <summary>Builds <c>stage</c>.</summary>
    public static Command CreateStage(TextWriter output, TimeProvider time)
    {
        var source = new Argument<string>("file") { Description = "The file to stage (outside Origin:Root)" };
        var path = new Option<string>("--as") { Description = "Its manifest path at release, e.g. os/raspios-2027.img.xz", Required = true };
        var at = ReleaseAt();
        var command = new Command(StageName, "Encrypts a file under an opaque id for release at a fixed time.") { source, path, at };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parse, ct) => StageAsync(parse, output, time, parse.GetValue(source), parse.GetValue(path), parse.GetValue(at), ct));
        return command;
    }

    /// <summary>
    /// Stages <paramref name="source"/> as <paramref name="path"/> for release at <paramref name="releaseAt"/>: the action of
    /// <c>origin stage</c>, and of <c>origin publish --release-at T --file FILE --as SET/NAME</c>, which delegates here so both
    /// spellings validate and answer alike. A missing part is a one-line <see cref="InvalidOperationException"/>.
    /// </summary>
    internal static async Task<int> StageAsync(ParseResult parse, TextWriter output, TimeProvider time, string? source, string? path,
        string? releaseAt, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(releaseAt))
            throw new InvalidOperationException("--file and --as stage a release: add --release-at T (ISO-8601 UTC, e.g. 2027-02-02T09:00:00Z); to publish a file at once, copy it into Origin:Root and run `origin publish`");
        if (string.IsNullOrWhiteSpace(source) || string.IsNullOrWhiteSpace(path))
            throw new InvalidOperationException("--release-at publishes one file at that time: give --file FILE and --as SET/NAME, e.g. `origin publish --release-at 2027-02-02T09:00:00Z --file /srv/incoming/x.img --as os/x.img`");
        var at = ParseTime(releaseAt);
        var record = await StagerFor(parse, time).StageAsync(source, path, at, ct);
        await output.WriteLineAsync($"staged {record.Id} as {record.Path}: {record.PlainSize} bytes, release at {Format(record.ReleaseAt)}");
        return 0;
    }

    /// <summary>Builds <c>releases list|move|cancel</c>.</summary>
    public static Command CreateReleases(TextWriter output, TimeProvider time)
    {
        var list = new Command("list", "Lists staged and recently released files (this shows names: the origin's ops only).") { TreatUnmatchedTokensAsErrors = false };
        list.SetAction(async (parse, ct) =>
        {
            foreach (var r in StagerFor(parse, time).Folder.LoadRecords())
            {
                var state = r.ReleasedAt is { } released ? "released " + Format(released) : "staged, release at " + Format(r.ReleaseAt);
                await output.WriteLineAsync($"{r.Id}  {r.Path}  {r.PlainSize} bytes  {state}");
            }
            return 0;
        });
        var moveId = new Argument<string>("id");
        var moveAt = ReleaseAt();
        var move = new Command("move", "Moves a staged release to another time.") { moveId, moveAt };
        move.TreatUnmatchedTokensAsErrors = false;
        move.SetAction(async (parse, ct) =>
        {
            var r = await StagerFor(parse, time).MoveAsync(parse.GetValue(moveId)!, ParseTime(parse.GetValue(moveAt)!), ct);
            await output.WriteLineAsync($"{r.Id} now releases at {Format(r.ReleaseAt)}");
            return 0;
        });
        var cancelId = new Argument<string>("id");
        var cancel = new Command("cancel", "Cancels a staged release; mirrors purge its ciphertext.") { cancelId };
        cancel.TreatUnmatchedTokensAsErrors = false;
        cancel.SetAction(async (parse, ct) =>
        {
            await StagerFor(parse, time).CancelAsync(parse.GetValue(cancelId)!, ct);
            await output.WriteLineAsync($"cancelled {parse.GetValue(cancelId)}");
            return 0;
        });
        return new Command(ReleasesName, "Lists, moves or cancels staged releases.") { list, move, cancel };
    }

    private static Option<string> ReleaseAt() =>
        new("--release-at") { Description = "Release time, ISO-8601 UTC, e.g. 2027-02-02T09:00:00Z", Required = true };

    private static DateTimeOffset ParseTime(string text)
    {
        if (!text.EndsWith('Z') || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            throw new FormatException($"--release-at '{text}' is not an ISO-8601 UTC time such as 2027-02-02T09:00:00Z");
        return at;
    }

    private static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static Stager StagerFor(ParseResult parse, TimeProvider time)
    {
        var config = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine([.. parse.UnmatchedTokens]).Build();
        var options = config.GetSection(OriginOptions.Section).Get<OriginOptions>() ?? new OriginOptions();
        if (string.IsNullOrWhiteSpace(options.Root) || string.IsNullOrWhiteSpace(options.StateDir))
            throw new InvalidOperationException("set --Origin:Root=DIR and --Origin:StateDir=DIR");
        var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        return new Stager(options, time, loggers.CreateLogger("Downloads.Origin.Staging"));
    }
}
