using System.ComponentModel.DataAnnotations;
using Downloads.Origin.Limits;
using Downloads.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.Origin.Tests.Limits;

/// <summary>The bandwidth share's decision (<see cref="BandwidthShare"/>), when mirrors count as active, and its options.</summary>
public class BandwidthSharePolicyTests
{
    [Fact]
    public void Public_downloads_are_held_to_the_rest_of_the_link_only_while_a_mirror_syncs_and_only_with_a_known_link()
    {
        var told = new OriginLimitsOptions { LinkBitsPerSecond = 4_000_000_000, MirrorBandwidthShare = 0.25 };
        Assert.Equal(375_000_000, BandwidthShare.PublicBytesPerSecond(told, mirrorActive: true));
        Assert.Equal(double.PositiveInfinity, BandwidthShare.PublicBytesPerSecond(told, mirrorActive: false));
        Assert.Equal(double.PositiveInfinity, BandwidthShare.PublicBytesPerSecond(new OriginLimitsOptions(), mirrorActive: true));
        Assert.Equal(double.PositiveInfinity, BandwidthShare.PublicBytesPerSecond(new OriginLimitsOptions { LinkBitsPerSecond = 4_000_000_000, MaxRequests = 0 }, mirrorActive: true));
    }

    [Fact]
    public void Mirrors_count_as_active_while_a_transfer_runs_and_for_a_second_after_the_last()
    {
        var time = new FakeTimeProvider();
        using var pacer = new OriginPacer(Options.Create(new OriginLimitsOptions { LinkBitsPerSecond = 16_000_000 }), time);
        Assert.False(pacer.MirrorActive);
        pacer.MirrorStarted();
        pacer.MirrorStarted();
        pacer.MirrorEnded();
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(pacer.MirrorActive);
        pacer.MirrorEnded();
        time.Advance(OriginPacer.Linger - TimeSpan.FromMilliseconds(1));
        Assert.True(pacer.MirrorActive);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(pacer.MirrorActive);
        Assert.Equal(0, pacer.MirrorTransfers);
    }

    [Fact]
    public void A_chunk_that_need_not_wait_allocates_nothing_paced_or_not()
    {
        // A link so fast that the full bucket holds thousands of chunks: every take below succeeds at once.
        using var pacer = new OriginPacer(Options.Create(new OriginLimitsOptions { LinkBitsPerSecond = 400_000_000_000 }), new FakeTimeProvider());
        var gate = pacer.Public;
        long granted = 0;
        var waited = 0;
        void Send(int chunks)
        {
            for (var i = 0; i < chunks; i++)
            {
                var take = gate.AcquireAsync(long.MaxValue, CancellationToken.None);
                if (!take.IsCompletedSuccessfully)
                    waited++;
                granted += take.Result;
                gate.Sent(OriginPacer.ChunkBytes);
            }
        }
        Send(10);
        Assert.Equal(0, Allocations.Fewest(() => Send(200)));
        pacer.MirrorStarted();
        Assert.True(pacer.MirrorActive);
        Send(10);
        Assert.Equal(0, Allocations.Fewest(() => Send(200)));
        Assert.Equal(0, waited);
        // Each Fewest runs its body once to three times; every take got a whole chunk, every send was counted.
        Assert.Equal(0, granted % OriginPacer.ChunkBytes);
        Assert.InRange(granted / OriginPacer.ChunkBytes, 420, 1220);
        Assert.Equal(granted, pacer.PublicBytes);
        Assert.Equal(TimeSpan.Zero, pacer.PublicWaited);
    }

    [Fact]
    public async Task A_chunk_refused_by_the_full_queue_waits_for_tokens_instead_of_going_unpaced()
    {
        // 16 Mbit/s at half for the public: the bucket holds one chunk, and it is refilled only when the fake clock
        // ticks (by the real time elapsed since, far less than another chunk's worth).
        var time = new FakeTimeProvider();
        using var pacer = new OriginPacer(Options.Create(new OriginLimitsOptions { LinkBitsPerSecond = 16_000_000 }), time);
        pacer.MirrorStarted();
        var gate = pacer.Public;
        Assert.Equal(OriginPacer.ChunkBytes, await gate.AcquireAsync(long.MaxValue, CancellationToken.None));

        // The limiter's queue limit counts tokens: 8,191 chunks fill it, and the ones after are refused at once.
        var queued = int.MaxValue / OriginPacer.ChunkBytes;
        using var abort = new CancellationTokenSource();
        var takes = new List<Task<long>>();
        for (var i = 0; i < queued + 8; i++)
            takes.Add(gate.AcquireAsync(long.MaxValue, abort.Token).AsTask());
        Assert.DoesNotContain(takes, t => t.IsCompleted);

        // The refused ones look again at each refill; the queue is still full and they still may not send.
        for (var i = 0; i < 5; i++)
            time.Advance(TimeSpan.FromMilliseconds(20));
        var refused = takes.GetRange(queued, 8);
        Assert.DoesNotContain(refused, t => t.IsCompleted);

        // The request is aborted: they end cancelled, with no bytes granted.
        await abort.CancelAsync();
        await Task.WhenAll(takes.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        Assert.All(refused, t => Assert.True(t.IsCanceled));
        Assert.True(pacer.PublicWaited > TimeSpan.Zero);
    }

    [Fact]
    public async Task A_chunk_asked_for_after_shutdown_passes_without_an_error()
    {
        var pacer = new OriginPacer(Options.Create(new OriginLimitsOptions { LinkBitsPerSecond = 16_000_000 }), new FakeTimeProvider());
        pacer.MirrorStarted();
        pacer.Dispose();
        var take = pacer.Public.AcquireAsync(long.MaxValue, CancellationToken.None);
        Assert.True(take.IsCompletedSuccessfully);
        Assert.Equal(OriginPacer.ChunkBytes, await take);
    }

    [Theory]
    [InlineData(0, 0.5, true)]
    [InlineData(1_000_000, 0.5, true)]
    [InlineData(999_999, 0.5, false)]
    [InlineData(400_000_000_001, 0.5, false)]
    [InlineData(4_000_000_000, 0.95, true)]
    [InlineData(4_000_000_000, 0.99, false)]
    [InlineData(4_000_000_000, 0, false)]
    public void The_link_and_share_are_validated(long link, double share, bool valid)
    {
        var options = new OriginLimitsOptions { LinkBitsPerSecond = link, MirrorBandwidthShare = share };
        var results = new List<ValidationResult>();
        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            && !options.Validate(new ValidationContext(options)).Any());
    }
}
