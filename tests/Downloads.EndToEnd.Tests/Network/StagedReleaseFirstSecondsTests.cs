using System.Net;
using System.Security.Cryptography;
using Downloads.Mirror.Storage;
using Downloads.Redirector.Snapshots;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Downloads.EndToEnd.Tests.Network.StagedNetwork;
using static Downloads.EndToEnd.Tests.Network.TestNetworkRig;

namespace Downloads.EndToEnd.Tests.Network;

/// <summary>
/// The first seconds of a staged release (docs/launch-day.md, "The first seconds"): from the moment the redirector routes
/// the new manifest, every client of the released file goes to the mirror that held its ciphertext, none to the origin,
/// although that mirror has not reported the new serial yet. The release serial also carries an ordinary new file that
/// the UK mirror downloads over a 20 kB/s link, so its live serial stays behind for the whole burst (the window is held
/// open, not raced); it serves the released file, decrypted and verified, ahead of that serial. The Swedish mirror holds
/// no ciphertext and is skipped although it is nearer to Linköping. The origin runs on a fake clock.
/// </summary>
public sealed class StagedReleaseFirstSecondsTests : IAsyncLifetime
{
    private const string Extra = "noobs/NOOBS_e2e_update.zip";
    private const string Secret = "os/zz-secret-launch-2027.img";
    private static readonly DateTimeOffset ReleaseAt = new(2027, 2, 2, 9, 0, 0, TimeSpan.Zero);

    private readonly TestNetworkRig _net = new("e2e-first-seconds", TimeSpan.FromSeconds(60));
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
    private ServiceHost _uk = null!;
    private ServiceHost _se = null!;

    public async Task InitializeAsync()
    {
        // The UK mirror stages the release; its sync link is slow (20 kB/s), so the release serial's other new file keeps it
        // behind. The Swedish mirror has no room to stage: at the release it has nothing to decrypt.
        (_uk, _se) = await StagedNetwork.StartAsync(_net, _clock, "--Sync:BandwidthBytesPerSecond=20000");
    }

    public async Task DisposeAsync() => await _net.DisposeAsync();

    [Fact]
    public async Task From_the_first_redirect_of_a_release_every_client_goes_to_the_mirror_that_held_its_ciphertext_and_none_to_the_origin()
    {
        await Eventually.TrueAsync(async () => (await _net.AnswerAsync(Public, London)).Location?.StartsWith(_uk.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "London client redirected to the UK mirror");
        await Eventually.TrueAsync(async () => (await _net.AnswerAsync(Public, Linkoping)).Location?.StartsWith(_se.BaseUrl, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), "Linköping client redirected to the Swedish mirror");

        var secret = RandomNumberGenerator.GetBytes(100_003);
        var id = await StagedNetwork.StageAsync(_net, _uk, secret, Secret, "2027-02-02T09:00:00Z", _clock);
        var holder = _net.Redirector.Services.GetRequiredService<SnapshotHolder>();
        await Eventually.TrueAsync(() => holder.Current.Mirrors.Any(m => m.Record.Id == "uk-cam" && m.Record.HoldsStaged(id)),
            TimeSpan.FromSeconds(30), "the redirector reads the id the UK mirror reports");
        Assert.DoesNotContain(holder.Current.Mirrors, m => m.Record.Id == "se-sto" && m.Record.HoldsStaged(id));
        var before = holder.Current.Index.Serial;
        // Before the time the file is unknown everywhere (the leak checks are StagedLaunchTests'): a plain 404.
        Assert.Equal(HttpStatusCode.NotFound, (await _net.AnswerAsync(Secret, London)).Status);

        // An ordinary new file goes out with the release: 1 MB that the UK mirror fetches at 20 kB/s, so it cannot
        // report the release serial for ~50 s, however quickly it decrypts.
        await _net.WriteOriginFileAsync(Extra, RandomNumberGenerator.GetBytes(1_000_000));
        var ukLive = _uk.Services.GetRequiredService<LiveTree>();
        _clock.SetUtcNow(ReleaseAt);
        _clock.Advance(TimeSpan.FromSeconds(1));

        // The burst, from the first moment: every request the redirector answers before the UK mirror reports the serial.
        var locations = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (locations.Count < 60 && DateTime.UtcNow < deadline)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => _net.AnswerAsync(Secret, i % 2 == 0 ? London : Linkoping)));
            foreach (var (status, location) in answers)
            {
                if (status == HttpStatusCode.Found)
                    locations.Add(location!);
                else
                {
                    // Only before the redirector has the release's manifest.
                    Assert.Equal(HttpStatusCode.NotFound, status);
                    Assert.True(locations.Count == 0, "a 404 after the first redirect of the release");
                }
            }
        }
        var release = holder.Current.Index.Serial;
        Assert.True(release > before, "the redirector routes the release serial");
        Assert.True(holder.Current.Index.Files.ContainsKey(Extra), "the extra file went out in the release serial");
        Assert.True(ukLive.Current.Serial < release, "the UK mirror has not gone live at the release serial: the window stayed open");
        Assert.Equal(60, locations.Count);
        // None to the origin, none to the Swedish mirror (nearer to Linköping, without the ciphertext): all to the UK mirror.
        Assert.All(locations, l => Assert.StartsWith($"{_uk.BaseUrl}/{Secret}", l, StringComparison.Ordinal));

        // The UK mirror serves it, decrypted and verified, ahead of its serial (waiting for the decrypt if it had to).
        Assert.Equal(secret, await _net.Http.GetByteArrayAsync(locations[0]));
        using (var head = new HttpRequestMessage(HttpMethod.Head, locations[^1]))
        using (var response = await _net.Http.SendAsync(head))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(secret.Length, response.Content.Headers.ContentLength);
        }
        Assert.True(ukLive.Current.Serial < release, "still ahead of the UK mirror's serial");
    }
}
