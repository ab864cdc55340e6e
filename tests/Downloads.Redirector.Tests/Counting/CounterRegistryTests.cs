using System.Net;
using Downloads.Redirector.Counting;

namespace Downloads.Redirector.Tests.Counting;

public class CounterRegistryTests
{
    private static IPAddress Address(int i) => new([100, (byte)(64 + i / 65536), (byte)(i / 256 % 256), (byte)(i % 256)]);

    [Fact]
    public void Drained_addresses_are_the_distinct_ones_seen_since_the_last_drain_and_only_those()
    {
        var counters = new CounterRegistry(50_000);
        for (var i = 0; i < 20_000; i++)
            counters.SeeAddress(Address(i % 9_000));
        var first = counters.DrainAddresses();
        Assert.Equal(9_000, first.Count);
        Assert.Contains(Address(8_999), first);

        // The buffers take turns and are reused: nothing of the first round may leak into the next ones.
        counters.SeeAddress(Address(42));
        Assert.Equal([Address(42)], counters.DrainAddresses());
        Assert.Empty(counters.DrainAddresses());
        counters.SeeAddress(Address(7));
        Assert.Equal([Address(7)], counters.DrainAddresses());
        Assert.Equal(0, counters.DroppedAddresses.Peek());
    }

    [Fact]
    public void Recording_an_address_allocates_nothing_once_the_buffers_pages_exist()
    {
        var counters = new CounterRegistry(10_000);
        var addresses = Enumerable.Range(0, 5_000).Select(Address).ToArray();
        foreach (var a in addresses)
            counters.SeeAddress(a);
        counters.DrainAddresses();
        foreach (var a in addresses)
            counters.SeeAddress(a);
        counters.DrainAddresses(); // both buffers have met this much traffic now

        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var a in addresses)
            counters.SeeAddress(a);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(5_000, counters.DrainAddresses().Count);
    }

    [Fact]
    public void A_full_buffer_drops_and_counts_until_the_next_drain()
    {
        var counters = new CounterRegistry(10_000);
        for (var i = 0; i < 10_500; i++)
            counters.SeeAddress(Address(i));
        Assert.Equal(10_000, counters.DrainAddresses().Count);
        Assert.Equal(500, counters.DroppedAddresses.Peek());
        counters.SeeAddress(Address(10_400));
        Assert.Equal([Address(10_400)], counters.DrainAddresses());
    }

    [Fact]
    public void Address_pages_follow_the_traffic_and_a_quiet_round_lets_them_go()
    {
        var batch = new CounterRegistry.AddressBatch(500_000);
        Assert.Equal(0, batch.Pages);
        for (var i = 0; i < 3 * CounterRegistry.AddressBatch.PageSize; i++)
            batch.Store(Interlocked.Increment(ref batch.Next) - 1, Address(i));
        Assert.Equal(3, batch.Pages);

        batch.Reset(); // after a busy round: pages kept, emptied
        Assert.Equal(3, batch.Pages);
        Assert.Null(batch.Load(0));
        batch.Store(Interlocked.Increment(ref batch.Next) - 1, Address(1));

        batch.Reset(); // after a round of one address: the pages it did not reach go
        Assert.Equal(1, batch.Pages);
        Assert.Null(batch.Load(0));
    }
}
