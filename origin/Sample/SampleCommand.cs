using System.CommandLine;

namespace Downloads.Origin.Sample;

/// <summary><c>origin sample --root DIR [--scale tiny|demo]</c>.</summary>
public static class SampleCommand
{
    /// <summary>The verb.</summary>
    public const string Name = "sample";

    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output)
    {
        var root = new Option<string>("--root") { Description = "Folder to fill (created when missing)", Required = true };
        var scale = new Option<SampleScale>("--scale") { Description = "tiny (tests, ~1.5 MB) or demo (~330 MB)", DefaultValueFactory = _ => SampleScale.Tiny };
        var command = new Command(Name, "Generates a deterministic sample tree (noobs/, os/, rachel/).") { root, scale };
        command.SetAction(async (parse, ct) =>
        {
            var dir = Path.GetFullPath(parse.GetValue(root)!);
            var written = await SampleTree.GenerateAsync(dir, parse.GetValue(scale), ct);
            await output.WriteLineAsync($"sample: {written.Count} files written under {dir}");
            return 0;
        });
        return command;
    }
}
