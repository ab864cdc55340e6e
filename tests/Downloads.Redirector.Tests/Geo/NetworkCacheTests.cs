using System.Net;
using Downloads.Redirector.Geo;

namespace Downloads.Redirector.Tests.Geo;

public sealed class NetworkCacheTests
{
    private static ClientKey Key(string address)
    {
        Assert.True(ClientKey.TryCreate(IPAddress.Parse(address), out var key));
        return key;
    }

    [Fact]
    public void An_entry_answers_every_address_of_its_network_and_nothing_outside_it()
    {
        var cache = new NetworkCache<string>(16);
        var key = Key("81.2.69.142");
        cache.Add(key, key.ToKeyPrefix(24), "london");

        Assert.True(cache.TryGet(Key("81.2.69.0"), out var a));
        Assert.True(cache.TryGet(Key("::ffff:81.2.69.255"), out var b));
        Assert.Equal(("london", "london"), (a, b));
        Assert.False(cache.TryGet(Key("81.2.70.0"), out _));
        Assert.False(cache.TryGet(Key("81.2.68.255"), out _));
    }

    [Fact]
    public void Colliding_networks_never_answer_for_each_other()
    {
        // 16 slots, 500 networks: most evict each other; a hit must still be the right network's value.
        var cache = new NetworkCache<int>(16);
        for (var i = 0; i < 500; i++)
        {
            var key = Key($"10.{i / 256}.{i % 256}.1");
            cache.Add(key, key.ToKeyPrefix(24), i);
        }

        var hits = 0;
        for (var i = 0; i < 500; i++)
        {
            if (cache.TryGet(Key($"10.{i / 256}.{i % 256}.200"), out var value))
            {
                Assert.Equal(i, value);
                hits++;
            }
        }

        Assert.InRange(hits, 1, 16);
    }

    [Fact]
    public void A_network_smaller_than_its_block_and_its_neighbour_both_stay_cached()
    {
        var cache = new NetworkCache<string>(1024);
        var boxford = Key("2.125.160.218");
        var neighbour = Key("2.125.160.1");
        cache.Add(boxford, boxford.ToKeyPrefix(29), "boxford");
        cache.Add(neighbour, neighbour.ToKeyPrefix(25), "none");

        Assert.True(cache.TryGet(boxford, out var b));
        Assert.True(cache.TryGet(neighbour, out var n));
        Assert.Equal(("boxford", "none"), (b, n));
        Assert.False(cache.TryGet(Key("2.125.160.224"), out _));
    }

    [Fact]
    public void A_zero_length_network_is_never_cached()
    {
        var cache = new NetworkCache<string>(16);
        cache.Add(Key("2001:db8::1"), 0, "everything");

        Assert.False(cache.TryGet(Key("2001:db8::1"), out _));
    }
}
