using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Staging;
using Downloads.Origin.Sample;
using Downloads.Origin.Staging;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.Origin.Tests.Staging;

public class StagedReleaseTests
{
    private const string NoRedis = "127.0.0.1:1,connectTimeout=200";
    private const string SecretPath = "os/zz-secret-launch-2027.img";
    private const int SecretSize = 123457;
    private static readonly DateTimeOffset Start = new(2027, 2, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ReleaseAt = new(2027, 2, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Staged_file_leaks_nothing_before_its_time_and_is_released_at_it()
    {
        using var dir = new TempDirectory("staging");
        var root = dir.Combine("root");
        await SampleTree.GenerateAsync(root, SampleScale.Tiny);
        var keyFile = dir.Combine("key");
        var keyOut = new StringWriter();
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", keyFile], keyOut));
        var publicKey = keyOut.ToString().Trim();
        var secret = RandomNumberGenerator.GetBytes(SecretSize);
        var secretFile = dir.Combine("secret.img");
        await File.WriteAllBytesAsync(secretFile, secret);
        var secretSha = Convert.ToHexStringLower(SHA256.HashData(secret));
        var clock = new FakeTimeProvider(Start);

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        string[] config = [$"--Origin:Root={root}", $"--Origin:StateDir={dir.Combine("state")}", $"--Origin:PrivateKeyFile={keyFile}", "--Origin:ChunkSize=16384", $"--Redis:Configuration={NoRedis}"];
        await using var app = OriginApp.Build([$"--urls={url}", .. config], clock);
        await app.StartAsync();
        using var http = new HttpClient();

        var output = new StringWriter();
        var error = new StringWriter();
        Assert.True(0 == await OriginCommands.RunAsync(["stage", secretFile, "--as", SecretPath, "--release-at", "2027-02-02T09:00:00Z", .. config], output, error, clock), error.ToString());
        var id = output.ToString().Split(' ')[1];
        Assert.True(StagingDefaults.IsValidId(id));

        // The signed list names the id, the ciphertext size and chunk hashes: nothing else.
        var listBytes = await http.GetByteArrayAsync($"{url}{StagingDefaults.ListPath}");
        var listSignature = await http.GetStringAsync($"{url}{StagingDefaults.SignaturePath}");
        Assert.True(ManifestSigner.Verify(listBytes, listSignature, publicKey));
        var list = StagingDefaults.TryParse(listBytes, out var listError);
        Assert.Null(listError);
        var staged = Assert.Single(list!.Staged);
        Assert.Equal(id, staged.Id);
        Assert.Empty(list.Released);
        Assert.Equal(SecretSize + (16 * StagedCipher.ChunkCount(SecretSize, 16384)), staged.Size);

        // The ciphertext is served with Range and verifies chunk by chunk against the signed hashes.
        var cipher = await http.GetByteArrayAsync($"{url}/-/staged/{id}");
        Assert.Equal(staged.Size, cipher.Length);
        for (var i = 0; i < staged.Chunks.Count; i++)
        {
            var chunk = cipher.AsSpan(i * staged.ChunkSize, (int)Math.Min(staged.ChunkSize, cipher.Length - ((long)i * staged.ChunkSize)));
            Assert.Equal(staged.Chunks[i], Convert.ToHexStringLower(SHA256.HashData(chunk)));
            Assert.False(chunk.IndexOf(secret.AsSpan(i * 16384, 64)) >= 0, "ciphertext holds plaintext");
        }
        var ranged = new HttpRequestMessage(HttpMethod.Get, $"{url}/-/staged/{id}");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(16400, 16499);
        using (var part = await http.SendAsync(ranged))
        {
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(cipher.AsSpan(16400, 100).ToArray(), await part.Content.ReadAsByteArrayAsync());
        }

        // Before the time: no endpoint shows the name, size, hash or bytes. The 404 for the staged name is the
        // 404 of a name that never existed, word for word.
        string[] secrets = [SecretPath, "zz-secret-launch", secretSha, SecretSize.ToString(CultureInfo.InvariantCulture)];
        string[] probes = ["/-/manifest.json", "/-/manifest.json.sig", "/-/staging.json", "/-/health", "/-/metrics", "/" + SecretPath,
            "/" + SecretPath + ".meta4", "/os/", "/os", "/-/staged/" + new string('0', 32), "/-/staged/" + id + "0", "/-/staged/" + id.ToUpperInvariant()];
        foreach (var probe in probes)
        {
            using var response = await http.GetAsync(url + probe);
            var body = await response.Content.ReadAsStringAsync();
            var headers = response.Headers.ToString() + response.Content.Headers;
            foreach (var s in secrets)
            {
                var shown = probe.Contains(s, StringComparison.Ordinal) ? body.Replace(probe[1..], "", StringComparison.Ordinal) : body;
                Assert.DoesNotContain(s, shown, StringComparison.Ordinal);
                Assert.DoesNotContain(s, headers, StringComparison.Ordinal);
            }
        }
        var manifest = ManifestCodec.TryParse(await http.GetByteArrayAsync($"{url}/-/manifest.json"), out _)!;
        Assert.DoesNotContain(manifest.Files, f => f.Path == SecretPath || f.Sha256 == secretSha);
        using (var stagedName = await http.GetAsync($"{url}/{SecretPath}"))
        using (var neverName = await http.GetAsync($"{url}/os/zz-never-existed-0000.img"))
        {
            Assert.Equal(HttpStatusCode.NotFound, stagedName.StatusCode);
            Assert.Equal(
                WithoutTrace((await neverName.Content.ReadAsStringAsync()).Replace("os/zz-never-existed-0000.img", "X", StringComparison.Ordinal)),
                WithoutTrace((await stagedName.Content.ReadAsStringAsync()).Replace(SecretPath, "X", StringComparison.Ordinal)));
        }
        Assert.False(File.Exists(Path.Combine(root, SecretPath)));

        // A second before the time nothing changes; at the time the file is released and published.
        clock.SetUtcNow(ReleaseAt.AddSeconds(-1));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(ManifestCodec.TryParse(await http.GetByteArrayAsync($"{url}/-/manifest.json"), out _)!.Files, f => f.Path == SecretPath);
        clock.SetUtcNow(ReleaseAt);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () =>
            ManifestCodec.TryParse(await http.GetByteArrayAsync($"{url}/-/manifest.json"), out _)!.Files.Any(f => f.Path == SecretPath && f.Sha256 == secretSha),
            TimeSpan.FromSeconds(30), "the released file in the manifest");
        Assert.Equal(secret, await http.GetByteArrayAsync($"{url}/{SecretPath}"));

        // The key is in the signed list now: the ciphertext fetched before the time decrypts to the file.
        listBytes = await http.GetByteArrayAsync($"{url}{StagingDefaults.ListPath}");
        listSignature = await http.GetStringAsync($"{url}{StagingDefaults.SignaturePath}");
        Assert.True(ManifestSigner.Verify(listBytes, listSignature, publicKey));
        list = StagingDefaults.TryParse(listBytes, out _)!;
        Assert.Empty(list.Staged);
        var released = Assert.Single(list.Released);
        Assert.Equal((id, SecretPath, secretSha), (released.Id, released.Path, released.Sha256));
        using var plain = new MemoryStream();
        Assert.True(await StagedCipher.DecryptAsync(new MemoryStream(cipher), plain, Convert.FromBase64String(released.Key), id, 16384));
        Assert.Equal(secret, plain.ToArray());
        // A wrong id (associated data) or a flipped byte fails the tag.
        Assert.False(await StagedCipher.DecryptAsync(new MemoryStream(cipher), new MemoryStream(), Convert.FromBase64String(released.Key), new string('a', 32), 16384));
        cipher[20000] ^= 1;
        Assert.False(await StagedCipher.DecryptAsync(new MemoryStream(cipher), new MemoryStream(), Convert.FromBase64String(released.Key), id, 16384));
    }

    private static string WithoutTrace(string body) => System.Text.RegularExpressions.Regex.Replace(body, "\"traceId\":\"[^\"]*\"", "");

    [Fact]
    public async Task Move_and_cancel_change_a_release_before_it_happens()
    {
        using var dir = new TempDirectory("staging");
        var (priv, _) = ManifestSigner.GenerateKeyPair();
        var options = new OriginOptions { Root = dir.Combine("root"), StateDir = dir.Combine("state"), PrivateKey = priv, ChunkSize = 16384 };
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        var clock = new FakeTimeProvider(Start);
        var stager = new Stager(options, clock, NullLogger.Instance);
        await File.WriteAllBytesAsync(dir.Combine("a.img"), RandomNumberGenerator.GetBytes(40000));
        await File.WriteAllBytesAsync(dir.Combine("b.img"), RandomNumberGenerator.GetBytes(40000));
        var a = await stager.StageAsync(dir.Combine("a.img"), "os/a.img", ReleaseAt);
        var b = await stager.StageAsync(dir.Combine("b.img"), "os/b.img", ReleaseAt);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stager.Folder.RecordPath(a.Id)));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stager.Folder.PlainPath(a.Id)));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(stager.Folder.Path));
        }

        await stager.MoveAsync(a.Id, ReleaseAt.AddDays(1));
        await stager.CancelAsync(b.Id);
        Assert.False(File.Exists(stager.Folder.CipherPath(b.Id)));
        Assert.False(File.Exists(stager.Folder.PlainPath(b.Id)));
        var list = StagingDefaults.TryParse(stager.Folder.LoadList(stager.Folder.ReadCurrentSerial())!.Value.Bytes, out _)!;
        Assert.Equal([a.Id], list.Staged.Select(s => s.Id));

        clock.SetUtcNow(ReleaseAt.AddHours(1));
        Assert.Equal(0, (await stager.ReleaseDueAsync()).Released);
        Assert.False(File.Exists(Path.Combine(options.Root, "os/a.img")));
        Assert.False(File.Exists(Path.Combine(options.Root, "os/b.img")));

        clock.SetUtcNow(ReleaseAt.AddDays(1));
        var result = await stager.ReleaseDueAsync();
        Assert.Equal(1, result.Released);
        Assert.Contains(result.Publication!.State.Manifest.Files, f => f.Path == "os/a.img" && f.Sha256 == a.Sha256);
        Assert.DoesNotContain(result.Publication.State.Manifest.Files, f => f.Path == "os/b.img");
        Assert.False(File.Exists(stager.Folder.PlainPath(a.Id)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => stager.CancelAsync(a.Id));

        // A released id leaves the list (and its key the state folder) after the retention.
        clock.Advance(Stager.ReleasedRetention);
        await stager.ReleaseDueAsync();
        Assert.False(File.Exists(stager.Folder.RecordPath(a.Id)));
        list = StagingDefaults.TryParse(stager.Folder.LoadList(stager.Folder.ReadCurrentSerial())!.Value.Bytes, out _)!;
        Assert.Empty(list.Released);
    }

    [Fact]
    public async Task Stage_refuses_a_file_inside_the_root_a_past_time_and_a_bad_path()
    {
        using var dir = new TempDirectory("staging");
        var (priv, _) = ManifestSigner.GenerateKeyPair();
        var options = new OriginOptions { Root = dir.Combine("root"), StateDir = dir.Combine("state"), PrivateKey = priv, ChunkSize = 16384 };
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        var stager = new Stager(options, new FakeTimeProvider(Start), NullLogger.Instance);
        await File.WriteAllBytesAsync(dir.Combine("a.img"), [1, 2, 3]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => stager.StageAsync(Path.Combine(options.Root, "noobs", "README.txt"), "os/x.img", ReleaseAt));
        await Assert.ThrowsAsync<InvalidOperationException>(() => stager.StageAsync(dir.Combine("a.img"), "os/x.img", Start.AddSeconds(-1)));
        await Assert.ThrowsAsync<FormatException>(() => stager.StageAsync(dir.Combine("a.img"), "../x.img", ReleaseAt));

        var error = new StringWriter();
        Assert.NotEqual(0, await OriginCommands.RunAsync(["releases", "cancel", "not-an-id", $"--Origin:Root={options.Root}", $"--Origin:StateDir={options.StateDir}"], new StringWriter(), error));
        Assert.Contains("32 lower-case hex", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }
}
