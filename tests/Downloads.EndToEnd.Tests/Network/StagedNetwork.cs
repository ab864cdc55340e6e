using Downloads.Mirror.Staging;
using Downloads.Origin;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// The network of the staged-launch tests on a <see cref="TestNetworkRig"/>: the origin on the test's clock with one
/// public file, the redirector, a UK mirror that stages, and a Swedish mirror with no disk room to stage on a 4 kB/s link.
/// </summary>
internal static class StagedNetwork
{
    public const string Public = "noobs/NOOBS_e2e.zip";

    public static async Task<(ServiceHost Uk, ServiceHost Se)> StartAsync(TestNetworkRig net, TimeProvider clock, params string[] ukExtra)
    {
        await net.WriteOriginFileAsync(Public, new byte[2000]);
        await net.StartOriginAsync(clock, "--Origin:ChunkSize=65536");
        await net.StartRedirectorAsync();
        var uk = await net.StartMirrorAsync("uk-cam", 52.2053, 0.1218, "GB", ["--Staging:PollInterval=00:00:00.300", "--Staging:MinFreeBytes=0", .. ukExtra]);
        var se = await net.StartMirrorAsync("se-sto", 59.3293, 18.0686, "SE", "--Staging:PollInterval=00:00:00.300", $"--Staging:MinFreeBytes={1L << 60}",
            "--Sync:BandwidthBytesPerSecond=4000");
        return (uk, se);
    }

    /// <summary>Stages <paramref name="secret"/> as <paramref name="path"/> with the origin's own command; returns its id once the UK mirror holds it.</summary>
    public static async Task<string> StageAsync(TestNetworkRig net, ServiceHost uk, byte[] secret, string path, string releaseAt, TimeProvider clock)
    {
        var source = net.Dir.Combine("secret.img");
        await File.WriteAllBytesAsync(source, secret);
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.True(0 == await OriginCommands.RunAsync(["stage", source, "--as", path, "--release-at", releaseAt, .. net.OriginConfig], output, error, clock), error.ToString());
        var id = output.ToString().Split(' ')[1];
        var ukStaged = uk.Services.GetRequiredService<StagedCiphertexts>();
        await Eventually.TrueAsync(() => ukStaged.Held.Contains(id), TimeSpan.FromSeconds(60), $"UK mirror holds the ciphertext ({ukStaged.LastError})");
        return id;
    }
}
