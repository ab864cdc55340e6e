using Downloads.Contracts.Manifests;
using Downloads.Origin.Publishing;
using Downloads.Origin.Sample;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Downloads.Origin.Tests.Publishing;

public class ManifestRenewalTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<(OriginOptions Options, string PublicKey)> SetupAsync(TempDirectory dir, TimeSpan lifetime)
    {
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var options = new OriginOptions
        {
            Root = dir.Combine("root"), StateDir = dir.Combine("state"), PrivateKey = priv, ChunkSize = 16 * 1024,
            ManifestLifetime = lifetime, ReloadInterval = TimeSpan.FromSeconds(1),
        };
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        return (options, pub);
    }

    [Fact]
    public async Task A_publication_signs_expires_as_published_plus_the_lifetime()
    {
        using var dir = new TempDirectory("renew");
        var (options, _) = await SetupAsync(dir, TimeSpan.FromDays(7));

        var result = await new Publisher(options, new FakeTimeProvider(Start), NullLogger.Instance).PublishAsync();

        Assert.Equal(Start, result.State.Manifest.Published);
        Assert.Equal(Start.AddDays(7), result.State.Manifest.Expires);
        Assert.Equal(Start.AddDays(7), ManifestCodec.TryParse(result.State.ManifestBytes, out _)!.Expires);
    }

    [Fact]
    public void Renewal_is_due_once_less_than_half_the_lifetime_is_left()
    {
        var manifest = new Manifest { Serial = 1, Published = Start, Expires = Start.AddDays(7) };

        Assert.False(Publisher.IsRenewalDue(manifest, Start.AddDays(3.5), TimeSpan.FromDays(7)));
        Assert.True(Publisher.IsRenewalDue(manifest, Start.AddDays(3.5).AddSeconds(1), TimeSpan.FromDays(7)));
        Assert.True(Publisher.IsRenewalDue(manifest with { Expires = default }, Start, TimeSpan.FromDays(7)));
    }

    [Fact]
    public async Task Resign_publishes_the_same_files_as_the_next_serial_with_a_fresh_expiry_and_only_when_due()
    {
        using var dir = new TempDirectory("renew");
        var (options, pub) = await SetupAsync(dir, TimeSpan.FromDays(7));
        var time = new FakeTimeProvider(Start);
        var first = await new Publisher(options, time, NullLogger.Instance).PublishAsync();
        // A file dropped into the root meanwhile is not published by a re-sign: it rescans nothing.
        await File.WriteAllTextAsync(Path.Combine(options.Root, "noobs", "half-copied.img"), "partial");

        time.Advance(TimeSpan.FromDays(3));
        Assert.Null(await new Publisher(options, time, NullLogger.Instance).ResignAsync());
        time.Advance(TimeSpan.FromDays(1));
        var second = await new Publisher(options, time, NullLogger.Instance).ResignAsync();

        Assert.NotNull(second);
        Assert.Equal(2, second.Serial);
        var state = new StateFolder(options.StateDir);
        Assert.Equal(2, state.ReadCurrentSerial());
        var loaded = state.Load(2, out _)!;
        Assert.True(ManifestSigner.Verify(loaded.ManifestBytes, System.Text.Encoding.ASCII.GetString(loaded.SignatureBytes), pub));
        Assert.Equal(Start.AddDays(4), loaded.Manifest.Published);
        Assert.Equal(Start.AddDays(11), loaded.Manifest.Expires);
        Assert.Equal(first.State.Manifest.Files.Select(f => (f.Path, f.Sha256, f.ChangedAt)), loaded.Manifest.Files.Select(f => (f.Path, f.Sha256, f.ChangedAt)));
        Assert.NotEqual(first.State.Manifest.Folders!.Select(f => f.SumsSignature), loaded.Manifest.Folders!.Select(f => f.SumsSignature));
    }

    [Fact]
    public async Task A_manifest_published_before_expires_existed_is_resigned_at_the_first_tick()
    {
        using var dir = new TempDirectory("renew");
        var (options, _) = await SetupAsync(dir, TimeSpan.FromDays(7));
        var time = new FakeTimeProvider(Start);
        await new Publisher(options, time, NullLogger.Instance).PublishAsync();
        // Rewrite serial 1 as an older origin wrote it: no expires field.
        var path = Path.Combine(options.StateDir, "manifests", "1.json");
        var old = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path)).Replace($",\"expires\":\"{Start.AddDays(7):yyyy-MM-ddTHH:mm:ss}+00:00\"", "", StringComparison.Ordinal);
        Assert.DoesNotContain("expires", old, StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(old);
        File.WriteAllBytes(path, bytes);
        File.WriteAllText(path + ".sig", ManifestSigner.Sign(bytes, options.PrivateKey!));
        using var redis = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,connectTimeout=200,abortConnect=false");
        var store = new PublishedStore(Options.Create(options), NullLogger<PublishedStore>.Instance);
        using var service = new PublishingService(store, Options.Create(options), redis, time, NullLoggerFactory.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(store.Current!.Manifest.IsExpired(time.GetUtcNow()));
            await Eventually.TrueAsync(() =>
            {
                time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(store.Current.Manifest.Serial == 2);
            }, TimeSpan.FromSeconds(30), "serial 2 re-signed at the first tick");
            Assert.False(store.Current.Manifest.IsExpired(time.GetUtcNow()));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_running_origin_resigns_on_its_timer_before_the_served_manifest_expires()
    {
        using var dir = new TempDirectory("renew");
        var (options, pub) = await SetupAsync(dir, TimeSpan.FromDays(1));
        var time = new FakeTimeProvider(Start);
        using var redis = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,connectTimeout=200,abortConnect=false");
        var store = new PublishedStore(Options.Create(options), NullLogger<PublishedStore>.Instance);
        using var service = new PublishingService(store, Options.Create(options), redis, time, NullLoggerFactory.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(1, store.Current!.Manifest.Serial);
            Assert.Equal(Start.AddDays(1), store.Current.Manifest.Expires);

            // Half the lifetime later, the next tick re-signs: served at once, before anything expired. (The service's
            // loop starts on its own thread: the clock moves a second per poll until its timer has ticked.)
            time.Advance(TimeSpan.FromHours(12));
            await Eventually.TrueAsync(() =>
            {
                time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(store.Current.Manifest.Serial == 2);
            }, TimeSpan.FromSeconds(30), "serial 2 re-signed by the timer");

            var served = store.Current;
            Assert.True(served.Manifest.Published > Start.AddHours(12));
            Assert.Equal(served.Manifest.Published.AddDays(1), served.Manifest.Expires);
            Assert.False(served.Manifest.IsExpired(time.GetUtcNow()));
            Assert.True(ManifestSigner.Verify(served.ManifestBytes, System.Text.Encoding.ASCII.GetString(served.SignatureBytes), pub));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }
}
