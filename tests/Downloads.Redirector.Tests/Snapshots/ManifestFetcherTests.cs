using Downloads.Contracts.Manifests;
using Downloads.Redirector.Snapshots;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
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
        Publish(origin, await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 7, changedAt: 7), priv);
        using var http = new HttpClient();
        var fetcher = new ManifestFetcher(http, Options.Create(new RedirectorOptions { Origin = origin.Url, PublicKey = pub }));

        Assert.Equal(7, (await fetcher.FetchAsync(default)).Manifest?.Serial);
        var before = origin.Requests;
        var again = await fetcher.FetchAsync(default);
        Assert.True(again.Unchanged);
        Assert.Null(again.Manifest);
        // The stand-in origin sends no ETag: only the signature was asked for.
        Assert.Equal(1, origin.Requests - before);

        Publish(origin, await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 8, changedAt: 7), priv);
        Assert.Equal(8, (await fetcher.FetchAsync(default)).Manifest?.Serial);

        // A document under a signature that does not verify is refused, and the next poll tries again.
        var (otherKey, _) = ManifestSigner.GenerateKeyPair();
        Publish(origin, await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 9, changedAt: 7), otherKey);
        Assert.NotNull((await fetcher.FetchAsync(default)).Error);
        Assert.NotNull((await fetcher.FetchAsync(default)).Error);

        // After Reset (the refresher refused the document) the same signature is fetched in full again.
        Publish(origin, await TestNetwork.BuildManifestAsync(files.Path, [TestNetwork.OsPath], serial: 10, changedAt: 7), priv);
        Assert.Equal(10, (await fetcher.FetchAsync(default)).Manifest?.Serial);
        fetcher.Reset();
        Assert.Equal(10, (await fetcher.FetchAsync(default)).Manifest?.Serial);
    }

    private static void Publish(StaticHost origin, Manifest manifest, string privateKey)
    {
        var bytes = ManifestCodec.Serialize(manifest);
        origin.Published = (bytes, ManifestSigner.Sign(bytes, privateKey));
    }
}
