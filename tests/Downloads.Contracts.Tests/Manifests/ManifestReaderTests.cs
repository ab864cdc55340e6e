using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Manifests;

namespace Downloads.Contracts.Tests.Manifests;

public class ManifestReaderTests
{
    private static readonly string A = new('a', 64);
    private static readonly string B = new('b', 64);
    private static readonly string C = new('c', 64);

    /// <summary>A manifest of <paramref name="count"/> files of varied sizes (0 included), sets and names.</summary>
    private static Manifest Generated(int count, int chunkSize)
    {
        var random = new Random(5);
        string[] folders = ["noobs", "os", "rachel", "os/2026", "rachel/élève"];
        var files = new List<ManifestFile>();
        for (var i = 0; i < count; i++)
        {
            var size = i % 7 == 0 ? 0 : random.NextInt64(1, 5L * chunkSize);
            var chunks = new string[size == 0 ? 0 : (size - 1) / chunkSize + 1];
            for (var c = 0; c < chunks.Length; c++)
                chunks[c] = Hex($"{i}/{c}");
            files.Add(new ManifestFile
            {
                Path = $"{folders[i % folders.Length]}/file {i:D5}{(i % 3 == 0 ? " #1" : "")}.img",
                Size = size,
                Sha256 = Hex($"{i}"),
                ChangedAt = random.Next(1, 40),
                Modified = DateTimeOffset.UnixEpoch.AddSeconds(random.Next()),
                Chunks = chunks,
            });
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new Manifest { Serial = 41, Published = new DateTimeOffset(2026, 11, 25, 12, 30, 0, TimeSpan.Zero), ChunkSize = chunkSize, Files = files };
    }

    private static string Hex(string seed) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed)));

    private static (List<ManifestEntry> Files, ManifestHeader Header, string? Error, bool Ok) Read(string json) => Read(Encoding.UTF8.GetBytes(json));

    private static (List<ManifestEntry> Files, ManifestHeader Header, string? Error, bool Ok) Read(byte[] json)
    {
        var files = new List<ManifestEntry>();
        var ok = ManifestReader.TryRead(json, files.Add, out var header, out var error);
        return (files, header, error, ok);
    }

    /// <summary>A document with one file; <paramref name="file"/> is the file object's members.</summary>
    private static string Doc(string file, string chunkSize = "4", string version = "1") =>
        $$"""{"version":{{version}},"serial":3,"published":"2026-01-01T00:00:00+00:00","chunkSize":{{chunkSize}},"files":[{{{file}}}]}""";

    private static string File(string path = "noobs/a.zip", string size = "5", string? sha = null, string? chunks = null) =>
        $$"""
        "path":{{Json(path)}},"size":{{size}},"sha256":{{Json(sha ?? A)}},"changedAt":3,"modified":"2026-01-01T00:00:00+00:00","chunks":{{chunks ?? $"[{Json(B)},{Json(C)}]"}}
        """;

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>The reader refuses <paramref name="json"/>, TryParse refuses it with the same one-line reason, and no file is handed over.</summary>
    private static string Refused(string json)
    {
        var (files, _, error, ok) = Read(json);
        Assert.False(ok);
        Assert.NotNull(error);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain('\r', error);
        Assert.Empty(files);
        Assert.Null(ManifestCodec.TryParse(Encoding.UTF8.GetBytes(json), out var parseError));
        Assert.Equal(error, parseError);
        return error;
    }

    [Fact]
    public void Reads_back_every_file_the_serializer_writes_with_its_hashes_decoded()
    {
        var manifest = Generated(2_000, chunkSize: 1000);
        var bytes = ManifestCodec.Serialize(manifest);

        var (files, header, error, ok) = Read(bytes);

        Assert.True(ok, error);
        Assert.Equal(new ManifestHeader(1, 41, manifest.Published, 1000), header);
        Assert.Equal(manifest.Files.Count, files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var (expected, actual) = (manifest.Files[i], files[i]);
            Assert.Equal(expected.Path, actual.Path);
            Assert.Equal(expected.Size, actual.Size);
            Assert.Equal(expected.ChangedAt, actual.ChangedAt);
            Assert.Equal(expected.Modified, actual.Modified);
            Assert.Equal(expected.Sha256, Convert.ToHexStringLower(actual.Sha256));
            Assert.Equal(32 * (1 + expected.Chunks.Count), actual.Hashes.Length);
            Assert.Equal(expected.Chunks.Count, actual.ChunkCount);
            for (var c = 0; c < expected.Chunks.Count; c++)
                Assert.Equal(expected.Chunks[c], Convert.ToHexStringLower(actual.Chunk(c)));
        }
        // Each file gets an array of its own, not a view of a shared buffer.
        Assert.Equal(files.Count, files.Select(f => f.Hashes).Distinct().Count());
    }

    [Fact]
    public void TryParse_gives_the_same_manifest_the_serializer_was_given()
    {
        var manifest = Generated(500, chunkSize: 777);

        var back = ManifestCodec.TryParse(ManifestCodec.Serialize(manifest), out var error);

        Assert.Null(error);
        Assert.NotNull(back);
        Assert.Equal((manifest.Version, manifest.Serial, manifest.Published, manifest.ChunkSize), (back.Version, back.Serial, back.Published, back.ChunkSize));
        Assert.Equal(manifest.Files.Count, back.Files.Count);
        for (var i = 0; i < manifest.Files.Count; i++)
        {
            var (expected, actual) = (manifest.Files[i], back.Files[i]);
            Assert.Equal((expected.Path, expected.Size, expected.Sha256, expected.ChangedAt, expected.Modified, expected.Set),
                (actual.Path, actual.Size, actual.Sha256, actual.ChangedAt, actual.Modified, actual.Set));
            Assert.Equal(expected.Chunks, actual.Chunks);
        }
        // And serialises back to the very bytes, so a mirror re-serving a parsed manifest keeps its signature valid.
        Assert.Equal(ManifestCodec.Serialize(manifest), ManifestCodec.Serialize(back));
    }

    [Fact]
    public void Property_order_does_not_matter_and_unknown_properties_are_skipped()
    {
        // Files before the chunk size and version; each file's fields reversed; unknown values of every JSON shape.
        var json = $$"""
            {
              "future": {"nested": [1, {"deep": null}], "x": "y"},
              "files": [
                {"chunks":["{{B}}","{{C}}"],"extra":[{"a":1}],"modified":"2026-01-01T00:00:00+00:00","changedAt":3,"sha256":"{{A}}","size":5,"set":"ignored","path":"noobs/a.zip"},
                {"path":"os/empty.img","sha256":"{{C}}","unknown":true}
              ],
              "chunkSize": 4,
              "published": "2026-01-01T00:00:00+00:00",
              "serial": 3,
              "note": 12.5e3,
              "version": 1
            }
            """;

        var (files, header, error, ok) = Read(json);

        Assert.True(ok, error);
        Assert.Equal(new ManifestHeader(1, 3, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), 4), header);
        Assert.Equal(["noobs/a.zip", "os/empty.img"], files.Select(f => f.Path));
        Assert.Equal(Convert.FromHexString(A + B + C), files[0].Hashes);
        Assert.Equal((5L, 3L, 2), (files[0].Size, files[0].ChangedAt, files[0].ChunkCount));
        Assert.Equal(Convert.FromHexString(C), files[1].Hashes);
        Assert.Equal(0, files[1].Size);
    }

    [Fact]
    public void A_hash_written_with_JSON_escapes_is_the_same_hash()
    {
        var escaped = string.Concat(A.Select(c => $"\\u{(int)c:x4}"));
        var (files, _, error, ok) = Read(Doc(File(chunks: $"[\"{escaped[..(6 * 63)]}b\",{Json(C)}]").Replace(Json(A), $"\"{escaped}\"", StringComparison.Ordinal)));

        Assert.True(ok, error);
        Assert.Equal(Convert.FromHexString(A + A[..63] + "b" + C), files.Single().Hashes);
    }

    [Fact]
    public void Defaults_apply_when_the_document_leaves_fields_out()
    {
        var (files, header, error, ok) = Read($$"""{"files":[{"path":"noobs/empty","sha256":"{{A}}"}]}""");

        Assert.True(ok, error);
        Assert.Equal(new ManifestHeader(ManifestCodec.CurrentVersion, 0, default, ManifestDefaults.ChunkSize), header);
        Assert.Equal((0L, 0), (files.Single().Size, files.Single().ChunkCount));
    }

    public static TheoryData<string, string> HostileHashes => new()
    {
        { "a slash", A[..30] + "/" + A[..33] },
        { "dot-dot", ".." + A[..62] },
        { "upper case", A[..63] + "A" },
        { "63 digits", A[..63] },
        { "65 digits", A + "a" },
        { "non-hex", A[..63] + "g" },
        { "empty", "" },
        { "a space", A[..63] + " " },
        { "a path", "../../../../etc/passwd" },
        { "a NUL", A[..63] + "\0" },
    };

    [Theory]
    [MemberData(nameof(HostileHashes))]
    public void A_sha256_not_of_exactly_64_lower_case_hex_digits_is_refused(string what, string sha)
    {
        _ = what;
        var error = Refused(Doc(File(sha: sha)));
        Assert.Equal("manifest entry 'noobs/a.zip' sha256 is not 64 lower-case hex digits", error);
    }

    [Theory]
    [MemberData(nameof(HostileHashes))]
    public void A_chunk_hash_not_of_exactly_64_lower_case_hex_digits_is_refused(string what, string chunk)
    {
        _ = what;
        var error = Refused(Doc(File(chunks: $"[{Json(B)},{Json(chunk)}]")));
        Assert.Equal("manifest entry 'noobs/a.zip' chunk 1 is not 64 lower-case hex digits", error);
    }

    [Theory]
    [InlineData("5", "[]", "has 0 chunk hashes, expected 2 for 5 bytes in chunks of 4")]
    [InlineData("5", "[\"B\"]", "has 1 chunk hashes, expected 2 for 5 bytes in chunks of 4")]
    [InlineData("5", "[\"B\",\"C\",\"C\"]", "has 3 chunk hashes, expected 2 for 5 bytes in chunks of 4")]
    [InlineData("0", "[\"B\"]", "has 1 chunk hashes, expected 0 for 0 bytes in chunks of 4")]
    [InlineData("4", "[\"B\",\"C\"]", "has 2 chunk hashes, expected 1 for 4 bytes in chunks of 4")]
    [InlineData("9223372036854775807", "[\"B\"]", "has 1 chunk hashes, expected 2305843009213693952 for 9223372036854775807 bytes in chunks of 4")]
    public void A_chunk_list_that_does_not_fit_the_size_is_refused(string size, string chunks, string reason)
    {
        var list = chunks.Replace("\"B\"", Json(B), StringComparison.Ordinal).Replace("\"C\"", Json(C), StringComparison.Ordinal);
        Assert.Equal($"manifest entry 'noobs/a.zip' {reason}", Refused(Doc(File(size: size, chunks: list))));
    }

    [Fact]
    public void Chunk_counts_of_files_read_before_the_chunk_size_are_checked_at_the_end()
    {
        var files = $$"""[{{{File("noobs/ok.zip")}}},{{{File("os/wrong.img", size: "9")}}}]""";
        var json = $$"""{"version":1,"serial":3,"files":{{files}},"chunkSize":4}""";

        var (_, _, error, ok) = Read(json);

        Assert.False(ok);
        Assert.Equal("manifest entry 'os/wrong.img' has 2 chunk hashes, expected 3 for 9 bytes in chunks of 4", error);
        // And files that fit the chunk size given after them are fine.
        var (read, header, fixedError, fixedOk) = Read(json.Replace(File("os/wrong.img", size: "9"), File("os/wrong.img", size: "8"), StringComparison.Ordinal));
        Assert.True(fixedOk, fixedError);
        Assert.Equal(4, header.ChunkSize);
        Assert.Equal(2, read.Count);
    }

    [Fact]
    public void A_negative_size_is_refused() =>
        Assert.Equal("manifest entry 'noobs/a.zip' has a negative size (-5)", Refused(Doc(File(size: "-5"))));

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("noobs/../../x")]
    [InlineData("noobs/./x")]
    [InlineData("/noobs/x")]
    [InlineData("noobs/")]
    [InlineData("noobs//x")]
    [InlineData("noobs\\x")]
    [InlineData("no-set.zip")]
    [InlineData("-/health")]
    [InlineData("")]
    public void An_unclean_path_is_refused(string path) =>
        Assert.Equal($"manifest names an invalid path '{path}'", Refused(Doc(File(path: path))));

    [Fact]
    public void A_path_with_a_line_break_is_refused_on_one_line()
    {
        var error = Refused(Doc(File(path: "noobs/a\nINFO forged log line")));
        Assert.Equal("manifest names an invalid path 'noobs/a\\u000aINFO forged log line'", error);
    }

    [Fact]
    public void A_very_long_invalid_path_is_cut_in_the_message()
    {
        var error = Refused(Doc(File(path: "../" + new string('x', 5000))));
        Assert.True(error.Length < 300, error);
        Assert.EndsWith("…'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2", "manifest version 2 is not supported (expected 1)")]
    [InlineData("0", "manifest version 0 is not supported (expected 1)")]
    [InlineData("\"1\"", "manifest 'version' must be a whole number")]
    [InlineData("1.5", "manifest 'version' must be a whole number")]
    [InlineData("99999999999", "manifest 'version' must be a whole number")]
    public void An_unknown_version_is_refused(string version, string reason) =>
        Assert.Equal(reason, Refused(Doc(File(), version: version)));

    [Fact]
    public void A_version_after_the_files_still_wins_over_what_it_would_have_meant_for_them()
    {
        var json = $$"""{"files":[{{{File(sha: "not a hash")}}}],"version":2}""";
        Assert.Equal("manifest version 2 is not supported (expected 1)", Refused(json));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-4")]
    public void A_chunk_size_that_is_not_positive_is_refused(string chunkSize) =>
        Assert.Equal("manifest chunk size must be positive", Refused(Doc(File(), chunkSize: chunkSize)));

    [Theory]
    [InlineData("{not json", "manifest is not valid JSON: ")]
    [InlineData("", "manifest is not valid JSON: ")]
    [InlineData("{\"version\":1} trailing", "manifest is not valid JSON: ")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\",}]}", "manifest is not valid JSON: ")]
    [InlineData("null", "manifest is empty")]
    [InlineData("[]", "manifest is not a JSON object")]
    [InlineData("{\"files\":null}", "manifest 'files' must be an array")]
    [InlineData("{\"files\":[3]}", "manifest entry #0 is not an object")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\",\"size\":\"5\"}]}", "manifest entry #0 'size' must be a whole number")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\",\"chunks\":null}]}", "manifest entry #0 'chunks' must be an array of strings")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\",\"sha256\":null}]}", "manifest entry #0 'sha256' must be a string")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\",\"modified\":\"yesterday\"}]}", "manifest entry #0 'modified' must be an ISO 8601 date")]
    [InlineData("{\"files\":[{\"size\":1}]}", "manifest entry #0 has no path")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\"}]}", "manifest entry 'noobs/a' has no sha256")]
    [InlineData("{\"serial\":1,\"serial\":2}", "manifest repeats 'serial'")]
    [InlineData("{\"files\":[],\"files\":[]}", "manifest repeats 'files'")]
    [InlineData("{\"files\":[{\"path\":\"noobs/a\",\"path\":\"noobs/b\"}]}", "manifest entry #0 repeats 'path'")]
    public void A_malformed_document_is_refused_with_its_reason(string json, string reason) =>
        Assert.StartsWith(reason, Refused(json), StringComparison.Ordinal);

    [Fact]
    public void Files_after_an_invalid_one_are_not_handed_over()
    {
        var json = $$"""{"chunkSize":4,"files":[{{{File("noobs/good.zip")}}},{{{File("noobs/bad.zip", size: "-1")}}},{{{File("noobs/later.zip")}}}]}""";

        var (files, _, error, ok) = Read(json);

        Assert.False(ok);
        Assert.Equal("manifest entry 'noobs/bad.zip' has a negative size (-1)", error);
        Assert.Equal(["noobs/good.zip"], files.Select(f => f.Path));
    }
}
