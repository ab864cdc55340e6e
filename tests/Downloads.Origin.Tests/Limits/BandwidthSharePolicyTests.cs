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
