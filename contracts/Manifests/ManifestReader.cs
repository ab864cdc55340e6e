using System.Text;
using System.Text.Json;

namespace Downloads.Contracts.Manifests;

/// <summary>
/// Reads manifest JSON token by token and hands each file over as soon as it is read, its hashes decoded
/// into one byte array. The one home of the manifest's validation rules: <see cref="ManifestCodec.TryParse"/>
/// is built on it. A reader that keeps only what it needs (the redirector's index) never holds the whole
/// parsed document: at 100,000 files that document is ~120 MB of objects and strings.
/// </summary>
public static class ManifestReader
{
    /// <summary>Characters of a hex SHA-256.</summary>
    private const int HexLength = 2 * ManifestEntry.HashLength;

    /// <summary>The longest JSON text that can unescape to <see cref="HexLength"/> characters (<c>\uXXXX</c> each).</summary>
    private const int MaxEscapedHexLength = 6 * HexLength;

    /// <summary>
    /// Reads <paramref name="json"/> (UTF-8) and calls <paramref name="onFile"/> for each file in document order.
    /// Returns false and a one-line reason when the document is not valid JSON, has an unknown version or a
    /// non-positive chunk size, an <c>expires</c> that is not a UTC ISO 8601 date, or a file has an invalid path, a negative size, a hash that is not exactly 64
    /// lower-case hex digits, or a chunk list that does not fit its size, or a folder's checksum signature is not
    /// well formed (<see cref="ManifestHeader.Folders"/>). Properties may come in any order and
    /// unknown ones are skipped; a known one may not repeat.
    /// </summary>
    /// <remarks>
    /// A file is handed over once its own fields are valid; whether the whole document is valid is known only
    /// when this returns (a chunk size or version after the file list is checked then), so a caller building
    /// something from the files discards it on false. After the first invalid file no more are handed over.
    /// </remarks>
    public static bool TryRead(ReadOnlySpan<byte> json, Action<ManifestEntry> onFile, out ManifestHeader header, out string? error)
    {
        var state = new State(onFile);
        try
        {
            var reader = new Utf8JsonReader(json);
            error = ReadDocument(ref reader, state);
        }
        catch (JsonException ex)
        {
            error = $"manifest is not valid JSON: {ex.Message}";
        }
        header = new ManifestHeader(state.Version, state.Serial, state.Published, state.ChunkSize, state.Folders, state.Expires);
        return error is null;
    }

    private static string? ReadDocument(ref Utf8JsonReader reader, State state)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
            return "manifest is empty";
        if (reader.TokenType != JsonTokenType.StartObject)
            return "manifest is not a JSON object";
        var seen = Fields.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string? error;
            if (reader.ValueTextEquals("version"u8))
            {
                error = Claim(ref seen, Fields.Version, "version", null)
                    ?? (ReadInt32(ref reader, out state.Version) ? null : Shape(null, "version", "a whole number"));
                // Fail at once: a document of another version may be shaped in any way.
                if (error is null && state.Version != ManifestCodec.CurrentVersion)
                    error = $"manifest version {state.Version} is not supported (expected {ManifestCodec.CurrentVersion})";
            }
            else if (reader.ValueTextEquals("serial"u8))
                error = Claim(ref seen, Fields.Serial, "serial", null)
                    ?? (ReadInt64(ref reader, out state.Serial) ? null : Shape(null, "serial", "a whole number"));
            else if (reader.ValueTextEquals("published"u8))
                error = Claim(ref seen, Fields.Published, "published", null)
                    ?? (ReadDate(ref reader, out state.Published) ? null : Shape(null, "published", "an ISO 8601 date"));
            else if (reader.ValueTextEquals("expires"u8))
            {
                error = Claim(ref seen, Fields.Expires, "expires", null)
                    ?? (ReadDate(ref reader, out state.Expires) ? null : Shape(null, "expires", "an ISO 8601 date"));
                // Exactly UTC as written, not a local time the reader's machine would guess an offset for.
                if (error is null && (state.Expires.Offset != TimeSpan.Zero || !(reader.ValueSpan.EndsWith("Z"u8) || reader.ValueSpan.EndsWith("+00:00"u8))))
                    error = "manifest 'expires' must be in UTC (offset +00:00)";
            }
            else if (reader.ValueTextEquals("chunkSize"u8))
            {
                error = Claim(ref seen, Fields.ChunkSize, "chunkSize", null)
                    ?? (ReadInt32(ref reader, out state.ChunkSize) ? null : Shape(null, "chunkSize", "a whole number"));
                if (error is null && state.ChunkSize <= 0)
                    error = "manifest chunk size must be positive";
                state.ChunkSizeKnown = true;
            }
            else if (reader.ValueTextEquals("files"u8))
                error = Claim(ref seen, Fields.Files, "files", null) ?? ReadFiles(ref reader, state);
            else if (reader.ValueTextEquals("folders"u8))
                error = Claim(ref seen, Fields.Folders, "folders", null) ?? ReadFolders(ref reader, state);
            else
            {
                reader.Skip();
                error = null;
            }
            if (error is not null)
                return error;
        }
        // The reader refuses anything but whitespace after the root value (a JsonException).
        reader.Read();
        if (state.FileError is not null)
            return state.FileError;
        foreach (var (path, size, chunks) in state.Unchecked ?? [])
        {
            if (ChunkCountError(path, size, chunks, state.ChunkSize) is { } error)
                return error;
        }
        return null;
    }

    private static string? ReadFiles(ref Utf8JsonReader reader, State state)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
            return Shape(null, "files", "an array");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
                return $"manifest entry #{state.Index} is not an object";
            // After the first invalid file only the JSON itself is still checked (and the version, which wins).
            if (state.FileError is not null)
                reader.Skip();
            else if (ReadFile(ref reader, state) is { } error)
                return error;
            state.Index++;
        }
        return null;
    }

    /// <summary>One file object. Returns an error that ends the read (a field of the wrong JSON type); an invalid value lands in <see cref="State.FileError"/>.</summary>
    private static string? ReadFile(ref Utf8JsonReader reader, State state)
    {
        string? path = null;
        long size = 0, changedAt = 0;
        var modified = default(DateTimeOffset);
        var chunks = 0;
        string? badHash = null;
        var seen = Fields.None;
        var index = state.Index;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string? error;
            if (reader.ValueTextEquals("path"u8))
            {
                error = Claim(ref seen, Fields.Path, "path", index);
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                    path = reader.GetString();
                else
                    error ??= Shape(index, "path", "a string");
            }
            else if (reader.ValueTextEquals("size"u8))
                error = Claim(ref seen, Fields.Size, "size", index)
                    ?? (ReadInt64(ref reader, out size) ? null : Shape(index, "size", "a whole number"));
            else if (reader.ValueTextEquals("sha256"u8))
            {
                error = Claim(ref seen, Fields.Sha256, "sha256", index);
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                    error ??= Shape(index, "sha256", "a string");
                else if (!DecodeHash(ref reader, state.Hashes.AsSpan(0, ManifestEntry.HashLength)))
                    badHash ??= "sha256";
            }
            else if (reader.ValueTextEquals("changedAt"u8))
                error = Claim(ref seen, Fields.ChangedAt, "changedAt", index)
                    ?? (ReadInt64(ref reader, out changedAt) ? null : Shape(index, "changedAt", "a whole number"));
            else if (reader.ValueTextEquals("modified"u8))
                error = Claim(ref seen, Fields.Modified, "modified", index)
                    ?? (ReadDate(ref reader, out modified) ? null : Shape(index, "modified", "an ISO 8601 date"));
            else if (reader.ValueTextEquals("chunks"u8))
                error = Claim(ref seen, Fields.Chunks, "chunks", index) ?? ReadChunks(ref reader, state, ref chunks, ref badHash);
            else
            {
                reader.Skip();
                error = null;
            }
            if (error is not null)
                return error;
        }

        if (path is null)
            return Invalid(state, $"manifest entry #{index} has no path");
        if (!ManifestPaths.IsValid(path) || !path.Contains('/', StringComparison.Ordinal))
            return Invalid(state, $"manifest names an invalid path {Quote(path)}");
        if ((seen & Fields.Sha256) == 0)
            return Invalid(state, $"manifest entry {Quote(path)} has no sha256");
        if (size < 0)
            return Invalid(state, $"manifest entry {Quote(path)} has a negative size ({size})");
        if (badHash is not null)
            return Invalid(state, $"manifest entry {Quote(path)} {badHash} is not 64 lower-case hex digits");
        if (!state.ChunkSizeKnown)
            (state.Unchecked ??= []).Add((path, size, chunks));
        else if (ChunkCountError(path, size, chunks, state.ChunkSize) is { } countError)
            return Invalid(state, countError);

        var hashes = state.Hashes.AsSpan(0, ManifestEntry.HashLength * (1 + chunks)).ToArray();
        state.OnFile(new ManifestEntry(path, size, changedAt, modified, hashes));
        return null;
    }

    private static string? ReadChunks(ref Utf8JsonReader reader, State state, ref int chunks, ref string? badHash)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
            return Shape(state.Index, "chunks", "an array of strings");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                return Shape(state.Index, "chunks", "an array of strings");
            var offset = ManifestEntry.HashLength * (1 + chunks);
            if (state.Hashes.Length < offset + ManifestEntry.HashLength)
                Array.Resize(ref state.Hashes, 2 * state.Hashes.Length);
            if (!DecodeHash(ref reader, state.Hashes.AsSpan(offset, ManifestEntry.HashLength)))
                badHash ??= $"chunk {chunks}";
            chunks++;
        }
        return null;
    }

    /// <summary>
    /// The folders' checksum-list signatures: each a clean folder path, named once, with signatures of the right length
    /// (whether they verify is for the reader of the checksum list to check, with the key).
    /// </summary>
    private static string? ReadFolders(ref Utf8JsonReader reader, State state)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
            return Shape(null, "folders", "an array");
        var folders = new List<ManifestFolder>();
        var seenPaths = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var index = folders.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
                return $"manifest folder #{index} is not an object";
            string? path = null, signature = null;
            var seen = Fields.None;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string? error = null;
                if (reader.ValueTextEquals("path"u8))
                    error = Claim(ref seen, Fields.Path, "folder path", index) ?? ReadString(ref reader, index, "path", out path);
                else if (reader.ValueTextEquals("sumsSignature"u8))
                    error = Claim(ref seen, Fields.SumsSignature, "sumsSignature", index) ?? ReadString(ref reader, index, "sumsSignature", out signature);
                else
                    reader.Skip();
                if (error is not null)
                    return error;
            }
            if (path is null || signature is null)
                return $"manifest folder #{index} needs a path and a sumsSignature";
            if (!ManifestPaths.IsValid(path))
                return $"manifest names an invalid folder {Quote(path)}";
            if (!seenPaths.Add(path))
                return $"manifest names folder {Quote(path)} twice";
            if (Checksums.FolderSignatures.Decode(signature) is null)
                return $"manifest folder {Quote(path)} sumsSignature is not base64 of {Checksums.Minisign.RawLength} bytes";
            folders.Add(new ManifestFolder { Path = path, SumsSignature = signature });
        }
        state.Folders = folders;
        return null;
    }

    private static string? ReadString(ref Utf8JsonReader reader, int folder, string name, out string? value)
    {
        reader.Read();
        value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return value is null ? $"manifest folder #{folder} '{name}' must be a string" : null;
    }

    private static string? ChunkCountError(string path, long size, int chunks, int chunkSize)
    {
        var expected = size == 0 ? 0 : (size - 1) / chunkSize + 1;
        return chunks == expected ? null
            : $"manifest entry {Quote(path)} has {chunks} chunk hashes, expected {expected} for {size} bytes in chunks of {chunkSize}";
    }

    /// <summary>Decodes a JSON string of exactly 64 lower-case hex digits into 32 bytes; false for anything else.</summary>
    private static bool DecodeHash(ref Utf8JsonReader reader, Span<byte> destination)
    {
        scoped var text = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            // The same JSON string written with escapes (\u0061 for 'a') is the same hash.
            if (text.Length > MaxEscapedHexLength)
                return false;
            Span<byte> unescaped = stackalloc byte[MaxEscapedHexLength];
            text = unescaped[..reader.CopyString(unescaped)];
        }
        if (text.Length != HexLength)
            return false;
        for (var i = 0; i < destination.Length; i++)
        {
            int high = Nibble(text[2 * i]), low = Nibble(text[2 * i + 1]);
            if ((high | low) < 0)
                return false;
            destination[i] = (byte)(high << 4 | low);
        }
        return true;
    }

    /// <summary>Lower-case only, so each hash has exactly one spelling.</summary>
    private static int Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };

    private static bool ReadInt32(ref Utf8JsonReader reader, out int value)
    {
        reader.Read();
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    private static bool ReadInt64(ref Utf8JsonReader reader, out long value)
    {
        reader.Read();
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool ReadDate(ref Utf8JsonReader reader, out DateTimeOffset value)
    {
        reader.Read();
        value = default;
        return reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out value);
    }

    /// <summary>Marks a field as read; a second one is an error (JSON readers disagree on which of two would win).</summary>
    private static string? Claim(ref Fields seen, Fields field, string name, int? file)
    {
        if ((seen & field) != 0)
            return file is null ? $"manifest repeats '{name}'" : $"manifest entry #{file} repeats '{name}'";
        seen |= field;
        return null;
    }

    private static string Shape(int? file, string name, string what) =>
        file is null ? $"manifest '{name}' must be {what}" : $"manifest entry #{file} '{name}' must be {what}";

    private static string? Invalid(State state, string error)
    {
        state.FileError = error;
        return null;
    }

    /// <summary>A path for a one-line log message: quoted, control characters escaped, cut at 200 characters.</summary>
    private static string Quote(string path)
    {
        const int Max = 200;
        var text = new StringBuilder(Math.Min(path.Length, Max) + 3).Append('\'');
        foreach (var c in path.AsSpan(0, Math.Min(path.Length, Max)))
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
                text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else
                text.Append(c);
        }
        return (path.Length > Max ? text.Append('…') : text).Append('\'').ToString();
    }

    [Flags]
    private enum Fields
    {
        None = 0,
        Version = 1 << 0,
        Serial = 1 << 1,
        Published = 1 << 2,
        ChunkSize = 1 << 3,
        Files = 1 << 4,
        Path = 1 << 5,
        Size = 1 << 6,
        Sha256 = 1 << 7,
        ChangedAt = 1 << 8,
        Modified = 1 << 9,
        Chunks = 1 << 10,
        Folders = 1 << 11,
        SumsSignature = 1 << 12,
        Expires = 1 << 13,
    }

    private sealed class State(Action<ManifestEntry> onFile)
    {
        public readonly Action<ManifestEntry> OnFile = onFile;

        // Defaults as the Manifest record's: a document without them reads as it always did.
        public int Version = ManifestCodec.CurrentVersion;
        public long Serial;
        public DateTimeOffset Published;

        // Absent (a document from before expiry was signed): MinValue, so it reads as expired, never as fresh.
        public DateTimeOffset Expires = DateTimeOffset.MinValue;
        public int ChunkSize = ManifestDefaults.ChunkSize;
        public bool ChunkSizeKnown;

        /// <summary>Position of the file being read in the file list.</summary>
        public int Index;

        /// <summary>The first invalid file's reason; reported when the rest of the document has been read.</summary>
        public string? FileError;

        /// <summary>Files read before the chunk size: their chunk counts are checked at the end (path shared with the entry).</summary>
        public List<(string Path, long Size, int Chunks)>? Unchecked;

        /// <summary>The folders' checksum-list signatures, or null when the document has none.</summary>
        public List<ManifestFolder>? Folders;

        /// <summary>The file being read: its whole-file hash, then its chunk hashes; reused from file to file.</summary>
        public byte[] Hashes = new byte[ManifestEntry.HashLength * 64];
    }
}
