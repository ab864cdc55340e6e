namespace Downloads.Contracts.Hosting;

/// <summary>Writes files so readers see either the old or the new content, never a torn one.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="data"/> to a temporary sibling, flushes it to disk, then renames it over <paramref name="path"/>.</summary>
    public static Task WriteAllBytesAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WriteAllBytesAsync(path, data, null, cancellationToken);

    /// <summary>Writes <paramref name="data"/> to a temporary sibling, flushes it to disk, then renames it over <paramref name="path"/>.</summary>
    /// <param name="path">The file to replace.</param>
    /// <param name="data">Its new content.</param>
    /// <param name="mode">
    /// The file's Unix mode from its creation on (less the umask), e.g. 0600 for a secret: never readable by
    /// others, not even between a create and a chmod. Null: the default for new files.
    /// </param>
    /// <param name="cancellationToken">Cancels the write (the old file stays).</param>
    public static Task WriteAllBytesAsync(string path, ReadOnlyMemory<byte> data, UnixFileMode? mode, CancellationToken cancellationToken = default) =>
        WriteAllBytesAsync(path, [data], mode, cancellationToken);

    /// <summary>
    /// Writes <paramref name="parts"/> one after the other to a temporary sibling, flushes it to disk, then renames it over
    /// <paramref name="path"/>: one file, all or nothing, without joining large buffers first.
    /// </summary>
    public static async Task WriteAllBytesAsync(string path, IReadOnlyList<ReadOnlyMemory<byte>> parts, UnixFileMode? mode, CancellationToken cancellationToken = default)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 1,
                Options = FileOptions.Asynchronous,
            };
            if (mode is { } unixMode && !OperatingSystem.IsWindows())
                options.UnixCreateMode = unixMode;
            await using (var stream = new FileStream(temp, options))
            {
                foreach (var part in parts)
                    await stream.WriteAsync(part, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
                File.Delete(temp);
        }
    }
}
