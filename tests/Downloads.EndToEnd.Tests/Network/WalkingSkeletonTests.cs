using System.Net;
using System.Security.Cryptography;
using Downloads.Testing;
using static Downloads.EndToEnd.Tests.Network.TestNetworkRig;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// The whole network over real sockets: real redis-server, the origin, two mirrors (Cambridge UK and
/// Stockholm) enrolled with one-time tokens and approved through the admin API, and the redirector
/// reading generated GeoIP2-schema databases.
/// </summary>
public sealed class WalkingSkeletonTests : IAsyncLifetime
{
    private const string File1 = "noobs/NOOBS_e2e.zip";

    private readonly TestNetworkRig _net = new("e2e");
    private ServiceHost _uk = null!;
    private ServiceHost _se = null!;

    public async Task InitializeAsync()
    {
        await _net.WriteOriginFileAsync(File1, Bytes(700_000, seed: 1));
        await _net.WriteOriginFileAsync("os/raspios-e2e.img.xz", Bytes(300_000, seed: 2));
        await _net.WriteOriginFileAsync("rachel/rachel-e2e.zip", Bytes(200_000, seed: 3));
        await _net.StartOriginAsync(null, "--Origin:ChunkSize=65536");
        await _net.StartRedirectorAsync();
        _uk = await _net.StartMirrorAsync("uk-cam", 52.2053, 0.1218, "GB");
        _se = await _net.StartMirrorAsync("se-sto", 59.3293, 18.0686, "SE");
    }

    public async Task DisposeAsync() => await _net.DisposeAsync();

    [Fact]
    public async Task Client_in_London_is_sent_to_the_UK_mirror_gets_the_manifest_bytes_and_is_sent_elsewhere_once_that_mirror_dies()
    {
        var manifest = await _net.ManifestAsync();
        var entry = manifest.Files.Single(f => f.Path == File1);

        // Mirrors sync, report and get approved in the background: until then the origin answers.
        await Eventually.TrueAsync(async () => (await _net.RedirectAsync(File1, London))?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror");
        var location = await _net.RedirectAsync(File1, London);
        Assert.Equal($"{_uk.BaseUrl}/{File1}", location);

        var bytes = await _net.Http.GetByteArrayAsync(location);
        Assert.Equal(entry.Size, bytes.Length);
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));

        // The nearest mirror for Linköping is Stockholm.
        await Eventually.TrueAsync(async () => (await _net.RedirectAsync(File1, Linkoping))?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), "Linköping client redirected to the Swedish mirror");

        // The UK mirror dies: once its heartbeat expires, London goes to Stockholm.
        await _uk.StopAsync();
        await Eventually.TrueAsync(async () => (await _net.RedirectAsync(File1, London))?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), "London client redirected to Stockholm after the UK mirror died");
        var fallbackBytes = await _net.Http.GetByteArrayAsync(await _net.RedirectAsync(File1, London));
        Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(fallbackBytes)));
    }

    [Fact]
    public async Task Unknown_path_is_404_and_a_traversal_attempt_is_refused()
    {
        await _net.ManifestAsync();
        await Eventually.TrueAsync(async () => await _net.RedirectAsync(File1, London) is not null, TimeSpan.FromSeconds(30), "redirector has the manifest");

        using var unknown = await _net.SendAsync("/noobs/not-there.zip", London);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var traversal = await _net.SendAsync("/noobs/..%2f..%2fetc/passwd", London);
        Assert.True(traversal.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"got {traversal.StatusCode}");
    }

    private static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
