using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Snapshots;

/// <summary>The manifest poll: an unchanged signature means an unchanged document, which is neither downloaded nor parsed again.</summary>
public class ManifestFetcherTests
{
    [Fact]
    public async Task Same_signature_is_unchanged_a_new_one_is_fetched_and_verified()
    {
        using var files = new TempDirectory("fetch");
        TestNetwork.Write(files, TestNetwork.OsPath, 1000, 1);
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        await using var origin = await StaticHost.StartAsync(files.Path);
        origin.Publish(await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 7, changedAt: 7), priv);
        using var http = new HttpClient();
        var fetcher = new ManifestFetcher(http, Options.Create(new RedirectorOptions { Origin = origin.Url, PublicKey = pub }), new CounterRegistry());

        var first = (await fetcher.FetchAsync(default)).Index;
        Assert.Equal(7, first?.Serial);
        // Read straight from the bytes: the file's entry carries the whole-file and chunk hashes the origin signed.
        var published = origin.Published!.Value.Manifest;
        var file = ManifestCodec.TryParse(published, out _)!.Files.Single();
        Assert.Equal(Convert.FromHexString(file.Sha256 + string.Concat(file.Chunks)), first!.Files[TestNetwork.OsPath].Hashes);
        var before = origin.Requests;
        var again = await fetcher.FetchAsync(default);
        Assert.True(again.Unchanged);
        Assert.Null(again.Index);
        // The stand-in origin sends no ETag: only the signature was asked for.
        Assert.Equal(1, origin.Requests - before);

        origin.Publish(await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 8, changedAt: 7), priv);
        Assert.Equal(8, (await fetcher.FetchAsync(default)).Index?.Serial);

        // A document under a signature that does not verify is refused, and the next poll tries again.
        var (otherKey, _) = ManifestSigner.GenerateKeyPair();
        origin.Publish(await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 9, changedAt: 7), otherKey);
        Assert.NotNull((await fetcher.FetchAsync(default)).Error);
        Assert.NotNull((await fetcher.FetchAsync(default)).Error);

        // After Reset (the refresher refused the document) the same signature is fetched in full again.
        origin.Publish(await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 10, changedAt: 7), priv);
        Assert.Equal(10, (await fetcher.FetchAsync(default)).Index?.Serial);
        fetcher.Reset();
        Assert.Equal(10, (await fetcher.FetchAsync(default)).Index?.Serial);
    }

    [Fact]
    public async Task A_signed_manifest_with_a_malformed_hash_is_refused_with_the_reason()
    {
        using var files = new TempDirectory("fetch");
        TestNetwork.Write(files, TestNetwork.OsPath, 1000, 1);
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        await using var origin = await StaticHost.StartAsync(files.Path);
        var manifest = await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 7, changedAt: 7);
        // Signed by the right key (a compromised or buggy publisher): the signature alone does not make it acceptable.
        origin.Publish(manifest with { Files = [manifest.Files[0] with { Sha256 = manifest.Files[0].Sha256.ToUpperInvariant() }] }, priv);
        using var http = new HttpClient();
        var fetcher = new ManifestFetcher(http, Options.Create(new RedirectorOptions { Origin = origin.Url, PublicKey = pub }), new CounterRegistry());

        var result = await fetcher.FetchAsync(default);

        Assert.Null(result.Index);
        Assert.False(result.Unchanged);
        Assert.Equal($"manifest entry '{TestNetwork.OsPath}' sha256 is not 64 lower-case hex digits", result.Error);
        // Not remembered as accepted: the next poll downloads and checks the document again.
        Assert.NotNull((await fetcher.FetchAsync(default)).Error);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_with_or_without_a_length_is_read_whole_and_a_short_one_is_an_error(bool chunked)
    {
        using var files = new TempDirectory("fetch");
        TestNetwork.Write(files, TestNetwork.OsPath, 1000, 1);
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var bytes = ManifestCodec.Serialize(await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 7, changedAt: 7));
        var signature = ManifestSigner.Sign(bytes, priv);
        var cut = 0;
        var builder = WebApplication.CreateSlimBuilder();
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapGet(ManifestDefaults.SignaturePath, () => signature);
        app.MapGet(ManifestDefaults.ManifestPath, async context =>
        {
            // Without a Content-Length Kestrel sends the body chunked; with one, a cut body ends the connection early.
            if (!chunked)
                context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length - cut));
        });
        await app.StartAsync();
        using var http = new HttpClient();
        var fetcher = new ManifestFetcher(http, Options.Create(new RedirectorOptions { Origin = url, PublicKey = pub }), new CounterRegistry());

        var whole = await fetcher.FetchAsync(default);
        Assert.True(whole.Error is null, whole.Error);
        Assert.Equal(7, whole.Index?.Serial);

        if (chunked)
            return;
        fetcher.Reset();
        cut = 100;
        var shortBody = await fetcher.FetchAsync(default);
        Assert.Null(shortBody.Index);
        Assert.StartsWith($"{url} unreachable: ", shortBody.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ManifestDefaults.ManifestPath)]
    [InlineData(ManifestDefaults.SignaturePath)]
    public async Task An_endless_chunked_body_is_refused_at_the_cap_not_buffered(string endless)
    {
        using var files = new TempDirectory("fetch");
        TestNetwork.Write(files, TestNetwork.OsPath, 1000, 1);
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var bytes = ManifestCodec.Serialize(await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 7, changedAt: 7));
        var signature = ManifestSigner.Sign(bytes, priv);
        long sent = 0;
        var builder = WebApplication.CreateSlimBuilder();
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapGet("/{**path}", async (HttpContext context, string path) =>
        {
            if ("/" + path != endless)
            {
                await context.Response.Body.WriteAsync(path.EndsWith(".sig", StringComparison.Ordinal) ? System.Text.Encoding.ASCII.GetBytes(signature) : bytes);
                return;
            }
            // Small blocks, so the first ones go out whole even against the signature's 4 KiB cap.
            await EndlessBody.WriteAsync(context, 4 * 1024, 16384, n => Interlocked.Add(ref sent, n));
        });
        await app.StartAsync();
        using var http = new HttpClient();
        var options = new RedirectorOptions { Origin = url, PublicKey = pub, MaxManifestBytes = 1024 * 1024 };
        var fetcher = new ManifestFetcher(http, Options.Create(options), new CounterRegistry());

        var result = await fetcher.FetchAsync(default);

        Assert.Null(result.Index);
        var cap = endless == ManifestDefaults.SignaturePath ? ManifestDefaults.MaxSignatureBytes : options.MaxManifestBytes;
        Assert.Equal($"{endless} is larger than {cap} bytes: refused", result.Error);
        Assert.InRange(Interlocked.Read(ref sent), cap, 32L * 1024 * 1024);
    }
}
