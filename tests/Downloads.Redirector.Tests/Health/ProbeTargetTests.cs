using System.Net;
using System.Net.Sockets;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Redirector.Health;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Health;

/// <summary>The prober is no request-forgery channel (issue #15 §14): non-public targets are refused after name resolution.</summary>
public sealed class ProbeTargetTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.20.0.1")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")] // cloud metadata
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("2002:7f00:1::1")] // 6to4 relaying to 127.0.0.1
    [InlineData("2002:a00:1::")] // 6to4 of 10.0.0.1
    [InlineData("2001:0:4136:e378:8000:63bf:3f57:fefe")] // Teredo, client 192.168.1.1 (stored inverted)
    [InlineData("2001:0:a00:1::1")] // Teredo, server 10.0.0.1
    [InlineData("::10.0.0.1")] // IPv4-compatible
    [InlineData("::127.0.0.1")]
    public void Private_loopback_link_local_unspecified_and_multicast_addresses_are_refused(string address)
    {
        Assert.False(new ProbeTargetPolicy("").Allows(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("81.2.69.142")]
    [InlineData("8.8.8.8")]
    [InlineData("2a00:1450:4001::1")]
    [InlineData("2002:808:808::1")] // 6to4 of 8.8.8.8
    [InlineData("2001:0:4136:e378:8000:63bf:f7f7:f7f7")] // Teredo, public server, client 8.8.8.8
    public void Public_addresses_are_allowed(string address) => Assert.True(new ProbeTargetPolicy("").Allows(IPAddress.Parse(address)));

    [Fact]
    public void The_allowlist_lets_its_networks_through_and_only_those()
    {
        var policy = new ProbeTargetPolicy("127.0.0.0/8, 10.9.0.0/16,::1");
        Assert.True(policy.Allows(IPAddress.Parse("127.0.0.1")));
        Assert.True(policy.Allows(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(policy.Allows(IPAddress.Parse("10.9.1.1")));
        Assert.True(policy.Allows(IPAddress.IPv6Loopback));
        Assert.False(policy.Allows(IPAddress.Parse("10.8.1.1")));
        Assert.Throws<ArgumentException>(() => new ProbeTargetPolicy("127.0.0.1,not-a-network"));
    }

    [Fact]
    public async Task A_mirror_whose_approved_url_resolves_to_a_private_address_is_not_fetched_and_an_allowlisted_one_is()
    {
        await redis.FlushAsync();
        var file = new byte[10_000];
        new Random(3).NextBytes(file);
        var (sha, chunks, length) = await FileHasher.HashAsync(new MemoryStream(file), 4096);
        var manifest = new StaticManifest { Current = new Manifest { Serial = 5, ChunkSize = 4096,
            Files = [new ManifestFile { Path = "noobs/a.bin", Size = length, Sha256 = sha, Chunks = chunks, ChangedAt = 5 }] } };

        // A loopback listener that is not on the allowlist, named by a literal address and by a name that
        // resolves to it (as a DNS answer changed after approval would).
        var listener = new TcpListener(IPAddress.Parse("127.0.0.3"), 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var allowed = new FakeMirror(new Dictionary<string, byte[]> { ["noobs/a.bin"] = file });
        await allowed.StartAsync();
        var db = redis.Admin.GetDatabase();
        foreach (var (id, url) in new[] { ("literal", $"http://127.0.0.3:{port}"), ("rebound", $"http://rebound.test:{port}"), ("lab", $"http://lab.test:{allowed.Port}") })
        {
            await MirrorStore.AddAsync(db, id);
            await MirrorStore.WriteInfoAsync(db, id, [new(Keyspace.InfoFields.HttpUrl, url)]);
            await TestMirrors.ApproveInfoAsync(db, id);
            await db.HashSetAsync(Keyspace.MirrorState(id), Keyspace.StateFields.Serial, 5);
            await db.StringSetAsync(Keyspace.MirrorAlive(id), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), TimeSpan.FromMinutes(5)); // a heartbeat holds its time
        }
        // Only 127.0.0.1 is allowlisted (the lab mirror's address); the listener is on 127.0.0.3 (Linux routes 127/8 to loopback).
        var connector = new ProbeConnector(host => host switch
        {
            "rebound.test" => [IPAddress.Parse("127.0.0.3")],
            "lab.test" => [IPAddress.Loopback],
            _ => throw new SocketException((int)SocketError.HostNotFound),
        }, new ProbeTargetPolicy("127.0.0.1"));
        using var checker = new HealthChecker(redis.Admin, manifest,
            Options.Create(new HealthOptions { Interval = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(10) }),
            Options.Create(new RedirectorOptions()), TimeProvider.System, NullLogger<HealthChecker>.Instance, new Random(7), connector);

        var verdicts = (await checker.RunRoundAsync()).ToDictionary(v => v.Id);

        Assert.False(listener.Pending(), "a connection reached the private listener");
        listener.Stop();
        foreach (var id in new[] { "literal", "rebound" })
        {
            Assert.False(verdicts[id].Healthy);
            Assert.Contains("refused to probe", verdicts[id].Result.Reason, StringComparison.Ordinal);
        }
        Assert.True(verdicts["lab"].Healthy, verdicts["lab"].Result.Reason);
        Assert.True(allowed.Heads >= 1);

    }

    private sealed class StaticManifest : IManifestSource
    {
        public Manifest? Current { get; init; }
    }
}
