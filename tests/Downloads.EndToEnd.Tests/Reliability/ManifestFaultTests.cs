using System.Net;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Testing;

namespace Downloads.EndToEnd.Tests.Reliability;

/// <summary>
/// The origin (or whoever holds the key) publishes something broken but correctly signed: the redirector
/// refuses it and keeps redirecting from the last good manifest; a good one afterwards is taken.
/// </summary>
public sealed class ManifestFaultTests(RedisServer redis) : IClassFixture<RedisServer>
{
    public static TheoryData<string, string> Broken => new()
    {
        { "not JSON", "{\"serial\": 2, \"files\": [" },
        { "chunk count does not match the size", "{\"version\":1,\"serial\":2,\"published\":\"2026-01-01T00:00:00Z\",\"chunkSize\":4194304,\"files\":[{\"path\":\"noobs/x.img\",\"size\":10000000,\"sha256\":\"" + new string('a', 64) + "\",\"changedAt\":2,\"modified\":\"2026-01-01T00:00:00Z\",\"chunks\":[]}]}" },
        { "traversal path", "{\"version\":1,\"serial\":2,\"published\":\"2026-01-01T00:00:00Z\",\"chunkSize\":4194304,\"files\":[{\"path\":\"../etc/passwd\",\"size\":0,\"sha256\":\"" + new string('a', 64) + "\",\"changedAt\":2,\"modified\":\"2026-01-01T00:00:00Z\",\"chunks\":[]}]}" },
        { "older serial", "" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public async Task A_signed_but_broken_manifest_is_refused_and_the_last_good_one_kept(string what, string json)
    {
        await redis.FlushAsync();
        await using var rig = await RedirectorRig.StartAsync(redis.Admin.GetDatabase(), redis.Configuration, null,
            "--Redirector:ManifestRefreshSeconds=0.2");
        Assert.Equal(1, await rig.SerialAsync());
        var good = rig.Origin.Published!.Value;

        var bytes = what == "older serial"
            ? ManifestCodec.Serialize(new Manifest { Serial = 0, Published = DateTimeOffset.UtcNow, Files = [] })
            : Encoding.UTF8.GetBytes(json);
        rig.Origin.Publish(bytes, rig.PrivateKey);
        await rig.Origin.FetchedAgainAsync(3, TimeSpan.FromSeconds(10), "several refresh rounds download the broken manifest");
        Assert.Equal(1, await rig.SerialAsync());
        using (var redirect = await rig.GetAsync("/" + RedirectorRig.PathOf(0)))
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);

        // The control: the same path of refresh takes a good manifest, so the refusal above was a refusal.
        var next = ManifestCodec.TryParse(good.Manifest, out _)! with { Serial = 3 };
        rig.Origin.Publish(next, rig.PrivateKey);
        await Eventually.TrueAsync(async () => await rig.SerialAsync() == 3, TimeSpan.FromSeconds(10), "the good manifest is taken");
    }
}
