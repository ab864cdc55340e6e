using System.Net;
using Downloads.Contracts.Hosting;
using Downloads.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Downloads.Contracts.Tests.Hosting;

/// <summary>
/// TLS to a real redis-server that speaks only TLS, with certificates made in the test: the services'
/// own connection code (<see cref="RedisServiceCollectionExtensions.AddDownloadsRedis"/>, <see cref="RedisTls"/>)
/// with <c>Redis:CaCertificate</c> connects, and refuses a server its CA did not certify.
/// </summary>
public sealed class RedisTlsTests : IDisposable
{
    private readonly TempDirectory _dir = new("redis-tls");
    private readonly TestCertificateAuthority _ca = new("Downloads test Redis CA");

    [Fact]
    public async Task A_service_connects_over_TLS_when_the_server_certificate_chains_to_the_configured_CA()
    {
        var caFile = _ca.WriteCertificate(_dir.Combine("ca.pem"));
        var (cert, key) = _ca.IssueLoopback(_dir.Combine("redis"));
        await using var server = RedisServer.WithTls(cert, key, caFile);

        await using var services = Services($"{server.Endpoint},abortConnect=false", caFile);
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        await Eventually.TrueAsync(() => redis.IsConnected, TimeSpan.FromSeconds(15), "the TLS connection to redis-server");
        var db = redis.GetDatabase();
        await db.StringSetAsync("dl:tls-probe", "over tls");
        Assert.Equal("over tls", (string?)await db.StringGetAsync("dl:tls-probe"));
    }

    [Fact]
    public async Task A_server_certificate_from_another_CA_is_refused()
    {
        using var stranger = new TestCertificateAuthority("Someone else's CA");
        var caFile = _ca.WriteCertificate(_dir.Combine("ca.pem"));
        var strangerFile = stranger.WriteCertificate(_dir.Combine("stranger.pem"));
        var (cert, key) = stranger.IssueLoopback(_dir.Combine("redis"));
        await using var server = RedisServer.WithTls(cert, key, strangerFile);

        var refused = await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectOnceAsync(server.Endpoint, caFile));
        Assert.Equal(ConnectionFailureType.AuthenticationFailure, refused.FailureType);
        // The same server is reachable with its own CA: the refusal is the trust decision, not the network.
        using var trusting = await ConnectOnceAsync(server.Endpoint, strangerFile);
        Assert.True(trusting.IsConnected);
    }

    [Fact]
    public async Task A_certificate_from_the_CA_for_another_name_is_refused()
    {
        var caFile = _ca.WriteCertificate(_dir.Combine("ca.pem"));
        var (cert, key) = _ca.IssueServer(_dir.Combine("redis"), ["redis.example.org"], [IPAddress.Parse("192.0.2.21")]);
        await using var server = RedisServer.WithTls(cert, key, caFile);

        var refused = await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectOnceAsync(server.Endpoint, caFile));
        Assert.Equal(ConnectionFailureType.AuthenticationFailure, refused.FailureType);
    }

    [Fact]
    public void A_CA_file_without_a_certificate_is_an_error_not_an_open_door()
    {
        var empty = _dir.Combine("empty.pem");
        File.WriteAllText(empty, "no certificate here\n");
        Assert.Throws<InvalidDataException>(() => RedisTls.Configure(new RedisOptions { Configuration = "127.0.0.1:1", CaCertificate = empty }));
    }

    /// <summary>One bounded attempt through <see cref="RedisTls.Configure"/> (the services retry forever instead).</summary>
    private static async Task<ConnectionMultiplexer> ConnectOnceAsync(string endpoint, string caFile)
    {
        var config = RedisTls.Configure(new RedisOptions { Configuration = endpoint, CaCertificate = caFile });
        config.AbortOnConnectFail = true;
        config.ConnectRetry = 1;
        config.ConnectTimeout = 5000;
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    internal static ServiceProvider Services(string configuration, string caFile)
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = configuration,
            ["Redis:CaCertificate"] = caFile,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(settings);
        services.AddDownloadsRedis();
        return services.BuildServiceProvider();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }
}
