using System.ComponentModel.DataAnnotations;
using Downloads.Origin.Limits;
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
