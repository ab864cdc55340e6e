using System.Net;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Downloads.Mirror.Tests.Limits;

/// <summary>The minimum data rate (Serving:MinDataRate…) on the sendfile path, over real sockets.</summary>
public sealed class DataRateTests
{
    [Fact]
    public async Task A_reader_that_stops_reading_a_sendfile_download_is_dropped_by_the_data_rate_and_its_slot_freed()
    {
        var log = new RecordingLoggerProvider();
        // A rate far above what a stalled reader's socket buffers can absorb in the test's time, so it trips in
        // seconds (with the shipped 4 KiB/s the buffers' few MB would last minutes; the mechanism is the same).
        await using var world = await LimitsWorld.StartAsync("rate1", 16 * 1024 * 1024, services => services.AddSingleton<ILoggerProvider>(log),
            "--Serving:MinDataRateBytesPerSecond=1048576", "--Serving:MinDataRateGraceSeconds=2",
            "--Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel=Debug");
        var counters = world.Counters;

        using var stalled = await world.SlowReaderAsync(LimitsWorld.Loopback(2));
        await Eventually.TrueAsync(() => counters.FileBytes > 0, LimitsWorld.Wait, "the download started with sendfile");
        // The client never reads and never closes: only the server can end this connection.
        await Eventually.TrueAsync(() => counters.OpenConnections == 0, LimitsWorld.Wait * 2, "the stalled reader dropped");
        Assert.InRange(counters.FileBytes, 1, world.Bytes.Length / 2);
        Assert.Contains(log.Lines, l => l.Contains("minimum data rate", StringComparison.OrdinalIgnoreCase));

        // A client that reads is not affected by the same setting, on the same sendfile path.
        using var reader = world.ClientFrom(LimitsWorld.Loopback(3));
        using var response = await reader.GetAsync(LimitsWorld.File);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(world.Bytes, await response.Content.ReadAsByteArrayAsync());
        Assert.True(counters.FileBytes > world.Bytes.Length, $"sendfile carried {counters.FileBytes} bytes");
    }
}
