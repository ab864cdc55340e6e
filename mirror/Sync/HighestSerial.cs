using System.Globalization;
using System.Text;
using Downloads.Contracts.Hosting;

namespace Downloads.Mirror.Sync;

/// <summary>
/// The highest manifest serial this mirror ever accepted, kept in <c>{DataDir}/highest-serial</c> (one decimal line,
/// written temp + fsync + rename) so that a restart, or a live record lost or refused, never lets an older signed
/// manifest back in: a replayed serial is refused (docs/sync.md, "Serials and expiry").
/// </summary>
public sealed class HighestSerial(string dataDir)
{
    /// <summary>The file's name in the data folder.</summary>
    public const string FileName = "highest-serial";

    private long _value = -1;

    /// <summary>The file's path.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetFullPath(dataDir), FileName);

    /// <summary>The highest serial accepted (0 when none); read from disk on first use.</summary>
    public long Value
    {
        get
        {
            if (_value < 0)
                _value = Read(Path);
            return _value;
        }
    }

    /// <summary>Records <paramref name="serial"/> when it is higher than <see cref="Value"/>; durable when this returns.</summary>
    public async Task RaiseAsync(long serial, CancellationToken cancellationToken)
    {
        if (serial <= Value)
            return;
        await AtomicFile.WriteAllBytesAsync(Path, Encoding.ASCII.GetBytes(serial.ToString(CultureInfo.InvariantCulture) + "\n"), cancellationToken);
        _value = serial;
    }

    /// <summary>
    /// The serial in <paramref name="path"/>: 0 when the file is missing. A file that is not exactly one non-negative
    /// decimal number is an error (someone edited it): the mirror refuses to start rather than forget its floor.
    /// </summary>
    public static long Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
        var line = text.EndsWith('\n') ? text[..^1] : text;
        if (line.Length is 0 or > 19 || !long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var serial))
            throw new InvalidDataException($"'{path}' must hold one serial number (the highest manifest serial accepted); restore it, or delete it to accept any serial again.");
        return serial;
    }
}
