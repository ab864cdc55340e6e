using System.Globalization;
using System.Text;
using System.Text.Json;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Staging;

namespace Downloads.Origin.Staging;

/// <summary>
/// <c>{StateDir}/staging/</c> (mode 0700): per id a private record (<c>{id}.json</c>, 0600, holds the key), the plaintext
/// (<c>{id}.plain</c>, 0600) and the ciphertext (<c>{id}.bin</c>); and the signed lists <c>lists/{serial}.json(.sig)</c>
/// behind the pointer <c>current</c>, swapped like the manifest's so a reader never sees a list with another's signature.
/// </summary>
public sealed class StagingFolder(string stateDir)
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The folder.</summary>
    public string Path { get; } = System.IO.Path.Combine(stateDir, "staging");

    /// <summary>The record of an id.</summary>
    public string RecordPath(string id) => System.IO.Path.Combine(Path, Checked(id) + ".json");

    /// <summary>The plaintext of an id (until release).</summary>
    public string PlainPath(string id) => System.IO.Path.Combine(Path, Checked(id) + ".plain");

    /// <summary>The ciphertext of an id (until release).</summary>
    public string CipherPath(string id) => System.IO.Path.Combine(Path, Checked(id) + ".bin");

    private string PointerPath => System.IO.Path.Combine(Path, "current");

    private string ListPath(long serial) => System.IO.Path.Combine(Path, "lists", serial.ToString(CultureInfo.InvariantCulture) + ".json");

    /// <summary>Creates the folder private to the origin's user.</summary>
    public void Create()
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(Path);
        else
            Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>A new private file for the plaintext, created 0600.</summary>
    public static FileStream CreatePrivate(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = Private;
        return new FileStream(path, options);
    }

    /// <summary>Every record, sorted by id.</summary>
    public List<StagedRecord> LoadRecords()
    {
        var records = new List<StagedRecord>();
        if (!Directory.Exists(Path))
            return records;
        foreach (var file in Directory.EnumerateFiles(Path, "*.json"))
        {
            var id = System.IO.Path.GetFileNameWithoutExtension(file);
            if (!StagingDefaults.IsValidId(id))
                continue;
            var record = JsonSerializer.Deserialize(File.ReadAllBytes(file), StagedRecordJsonContext.Default.StagedRecord);
            if (record is not null && record.Id == id)
                records.Add(record);
        }
        records.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return records;
    }

    /// <summary>Writes a record atomically, 0600 from creation.</summary>
    public Task SaveAsync(StagedRecord record, CancellationToken cancellationToken) =>
        AtomicFile.WriteAllBytesAsync(RecordPath(record.Id), JsonSerializer.SerializeToUtf8Bytes(record, StagedRecordJsonContext.Default.StagedRecord), Private, cancellationToken);

    /// <summary>Removes every file of an id.</summary>
    public void Delete(string id)
    {
        File.Delete(PlainPath(id));
        File.Delete(CipherPath(id));
        File.Delete(RecordPath(id));
    }

    /// <summary>The serial of the current list, 0 when none.</summary>
    public long ReadCurrentSerial()
    {
        try
        {
            return long.TryParse(File.ReadAllText(PointerPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>The signed list of a serial as (bytes, signature), or null.</summary>
    public (byte[] Bytes, byte[] Signature)? LoadList(long serial)
    {
        if (serial <= 0)
            return null;
        try
        {
            return (File.ReadAllBytes(ListPath(serial)), File.ReadAllBytes(ListPath(serial) + ".sig"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Writes a signed list and swaps the pointer to it; keeps the previous few.</summary>
    public async Task WriteListAsync(long serial, byte[] bytes, string signature, CancellationToken cancellationToken)
    {
        await AtomicFile.WriteAllBytesAsync(ListPath(serial), bytes, cancellationToken);
        await AtomicFile.WriteAllBytesAsync(ListPath(serial) + ".sig", Encoding.ASCII.GetBytes(signature), cancellationToken);
        await AtomicFile.WriteAllBytesAsync(PointerPath, Encoding.ASCII.GetBytes(serial.ToString(CultureInfo.InvariantCulture) + "\n"), cancellationToken);
        foreach (var file in Directory.EnumerateFiles(System.IO.Path.Combine(Path, "lists")))
        {
            var name = System.IO.Path.GetFileName(file);
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && long.TryParse(name.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s <= serial - 5)
                File.Delete(file);
        }
    }

    private static string Checked(string id) =>
        StagingDefaults.IsValidId(id) ? id : throw new FormatException($"'{id}' is not a staged id (32 lower-case hex digits)");
}
