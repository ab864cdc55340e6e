using System.Net;
using System.Text;
using Downloads.Redirector.Counting;
using Downloads.Testing;

namespace Downloads.Redirector.Tests.Counting;

public class CounterRegistryTests
{
    private static IPAddress Address(int i) => new([100, (byte)(64 + i / 65536), (byte)(i / 256 % 256), (byte)(i % 256)]);

    /// <summary>The sketch PFADD of these addresses' text forms would build, added one by one.</summary>
    private static HyperLogLog Expected(IEnumerable<IPAddress> addresses)
    {
        var hll = new HyperLogLog();
        foreach (var a in addresses)
            hll.Add(Encoding.UTF8.GetBytes(a.ToString()));
        return hll;
    }

    [Fact]
    public void Drained_addresses_are_those_seen_since_the_last_drain_exactly_as_PFADD_of_their_text_would_count_them()
    {
        var counters = new CounterRegistry();
        var seen = Enumerable.Range(0, 20_000).Select(i => Address(i % 9_000)).ToList();
        seen.Add(IPAddress.Parse("2001:db8::1"));
        foreach (var a in seen)
            counters.SeeAddress(Outcome.Mirror, a);
        var first = new HyperLogLog();
        counters.DrainAddressesInto(Outcome.Mirror, first);
        Assert.Equal(Expected(seen).ToRedisDense(), first.ToRedisDense());
        Assert.InRange(first.Estimate(), 9_001 * 0.97, 9_001 * 1.03);

        // Only what came after: nothing, then one address (the retired sketch is cleared before reuse).
        var second = new HyperLogLog();
        counters.DrainAddressesInto(Outcome.Mirror, second);
        Assert.True(second.IsEmpty);
        counters.SeeAddress(Outcome.Mirror, Address(42));
        var third = new HyperLogLog();
        counters.DrainAddressesInto(Outcome.Mirror, third);
        Assert.Equal(Expected([Address(42)]).ToRedisDense(), third.ToRedisDense());
        var fourth = new HyperLogLog();
        counters.DrainAddressesInto(Outcome.Mirror, fourth);
        Assert.True(fourth.IsEmpty);
    }

    [Fact]
    public void Concurrent_adds_from_many_threads_give_the_same_registers_as_one_by_one()
    {
        var counters = new CounterRegistry();
        var addresses = Enumerable.Range(0, 200_000).Select(Address).ToArray();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            // Every thread adds every address, in its own order: maximal contention on every register.
            for (var i = 0; i < addresses.Length; i++)
                counters.SeeAddress(Outcome.Mirror, addresses[(i + (t * 25_013)) % addresses.Length]);
        });
        var drained = new HyperLogLog();
        counters.DrainAddressesInto(Outcome.Mirror, drained);
        Assert.Equal(Expected(addresses).ToRedisDense(), drained.ToRedisDense());
    }

    [Fact]
    public void Seeing_an_address_allocates_nothing()
    {
        var counters = new CounterRegistry();
        var v4 = Address(7);
        var v6 = IPAddress.Parse("2001:db8:85a3::8a2e:370:7334");
        counters.SeeAddress(Outcome.RateLimited, v4);
        counters.SeeAddress(Outcome.RateLimited, v6);
        Assert.Equal(0, Allocations.Fewest(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                counters.SeeAddress(Outcome.RateLimited, v4);
                counters.SeeAddress(Outcome.RateLimited, v6);
            }
        }));
    }

    [Fact]
    public void Each_outcome_has_its_own_addresses()
    {
        var counters = new CounterRegistry();
        counters.SeeAddress(Outcome.RateLimited, Address(1));
        counters.SeeAddress(Outcome.RateLimited, Address(2));
        counters.SeeAddress(Outcome.Head, Address(3));
        Assert.True(counters.HasAddresses(Outcome.RateLimited));
        Assert.False(counters.HasAddresses(Outcome.Mirror));
        var refused = new HyperLogLog();
        counters.DrainAddressesInto(Outcome.RateLimited, refused);
        Assert.Equal(Expected([Address(1), Address(2)]).ToRedisDense(), refused.ToRedisDense());
        Assert.False(counters.HasAddresses(Outcome.RateLimited));
        Assert.True(counters.HasAddresses(Outcome.Head));
    }
}
