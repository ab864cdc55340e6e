using System.Text;
using Downloads.Redirector.Counting;
using Downloads.Testing;
using StackExchange.Redis;

namespace Downloads.Redirector.Tests.Counting;

/// <summary>The in-memory HyperLogLog is bit-for-bit Redis's, so merging it is the same as PFADD of the same addresses.</summary>
public sealed class HyperLogLogTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static string Address(int i) => $"100.{64 + i / 65536}.{i / 256 % 256}.{i % 256}";

    [Fact]
    public async Task Registers_equal_those_Redis_builds_with_PFADD_and_merging_twice_changes_nothing()
    {
        var db = redis.Admin.GetDatabase();
        await db.KeyDeleteAsync(["hll:ref", "hll:mine", "hll:merged"]);
        var hll = new HyperLogLog();
        var values = Enumerable.Range(0, 20_000).Select(Address).ToArray();
        foreach (var v in values)
            hll.Add(Encoding.UTF8.GetBytes(v));
        foreach (var chunk in values.Chunk(1000))
            await db.HyperLogLogAddAsync("hll:ref", chunk.Select(v => (RedisValue)v).ToArray());

        // 20k elements: Redis has promoted its key to the dense encoding; registers must match exactly.
        byte[] reference = (await db.StringGetAsync("hll:ref"))!;
        var mine = hll.ToRedisDense();
        Assert.Equal(HyperLogLog.DenseSize, reference.Length);
        Assert.Equal(reference.AsSpan(16).ToArray(), mine.AsSpan(16).ToArray());

        await db.StringSetAsync("hll:mine", mine);
        await db.HyperLogLogMergeAsync("hll:merged", ["hll:merged", "hll:mine"]);
        var once = await db.HyperLogLogLengthAsync("hll:merged");
        await db.HyperLogLogMergeAsync("hll:merged", ["hll:merged", "hll:mine"]);
        Assert.Equal(once, await db.HyperLogLogLengthAsync("hll:merged"));
        Assert.Equal(await db.HyperLogLogLengthAsync("hll:ref"), once);
        Assert.InRange(once, 20_000 * 0.97, 20_000 * 1.03);
        Assert.InRange(hll.Estimate(), 20_000 * 0.97, 20_000 * 1.03);
    }

    [Fact]
    public async Task A_few_addresses_merge_to_the_same_count_as_PFADD()
    {
        var db = redis.Admin.GetDatabase();
        await db.KeyDeleteAsync(["hll:few-ref", "hll:few-mine", "hll:few"]);
        var hll = new HyperLogLog();
        string[] values = ["81.2.69.142", "89.160.20.112", "216.160.83.56", "2001:218::1", "81.2.69.142"];
        foreach (var v in values)
            hll.Add(Encoding.UTF8.GetBytes(v));
        await db.HyperLogLogAddAsync("hll:few-ref", values.Select(v => (RedisValue)v).ToArray());
        await db.StringSetAsync("hll:few-mine", hll.ToRedisDense());
        await db.HyperLogLogMergeAsync("hll:few", ["hll:few", "hll:few-mine"]);
        Assert.Equal(4, await db.HyperLogLogLengthAsync("hll:few-ref"));
        Assert.Equal(4, await db.HyperLogLogLengthAsync("hll:few"));
        Assert.Equal(4, Math.Round(hll.Estimate()));
    }
}
