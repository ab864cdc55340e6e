using System.Net;
using System.Threading.RateLimiting;
using Downloads.Redirector.Clients;
using Downloads.Redirector.Overload;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Downloads.Redirector.Tests.Overload;

public class ClientRateLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    private ClientRateLimiter Limiter(double perSecond = 10, int burst = 5, string trusted = "127.0.0.1") =>
        new(new ClientAddressResolver(Options.Create(new RedirectorOptions { TrustedProxies = trusted })), _time,
            Options.Create(new RateLimitOptions { PermitsPerSecond = perSecond, Burst = burst }));

    private static DefaultHttpContext Request(string socket, string? forwardedFor = null, string path = "/noobs/x.zip")
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(socket);
        context.Request.Path = path;
        if (forwardedFor is not null)
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        return context;
    }

    private static int Granted(ClientRateLimiter limiter, int attempts, Func<int, HttpContext> request)
    {
        var granted = 0;
        for (var i = 0; i < attempts; i++)
        {
            using var lease = limiter.AttemptAcquire(request(i));
            if (lease.IsAcquired)
                granted++;
        }
        return granted;
    }

    [Fact]
    public void A_client_gets_its_burst_then_the_sustained_rate()
    {
        var limiter = Limiter(perSecond: 10, burst: 5);
        Assert.Equal(5, Granted(limiter, 50, _ => Request("81.2.69.142")));
        _time.Advance(TimeSpan.FromSeconds(1)); // 10 more permits accrue, capped at the burst
        Assert.Equal(5, Granted(limiter, 50, _ => Request("81.2.69.142")));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, Granted(limiter, 50, _ => Request("81.2.69.142")));
        Assert.Equal(45 + 45 + 49, limiter.Rejected);
    }

    [Fact]
    public void The_address_the_limiter_resolved_is_the_one_the_handler_gets()
    {
        var resolver = new ClientAddressResolver(Options.Create(new RedirectorOptions { TrustedProxies = "127.0.0.1" }));
        var limiter = new ClientRateLimiter(resolver, _time, Options.Create(new RateLimitOptions { PermitsPerSecond = 10, Burst = 5 }));
        var context = Request("127.0.0.1", "9.9.9.9, 81.2.69.142");
        using (var lease = limiter.AttemptAcquire(context))
            Assert.True(lease.IsAcquired);
        var kept = context.Features.Get<ClientAddressFeature>();
        Assert.NotNull(kept);
        Assert.Equal(IPAddress.Parse("81.2.69.142"), kept.Address);
        // The handler's call (RedirectHandler → Resolve) is answered from the request, not by parsing again.
        Assert.Same(kept.Address, resolver.Resolve(context));
    }

    [Fact]
    public void Refusal_says_when_to_retry()
    {
        var limiter = Limiter(perSecond: 0.5, burst: 1);
        Assert.True(limiter.AttemptAcquire(Request("81.2.69.142")).IsAcquired);
        using var lease = limiter.AttemptAcquire(Request("81.2.69.142"));
        Assert.False(lease.IsAcquired);
        Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(2), retryAfter);
    }

    [Fact]
    public void Clients_behind_a_trusted_proxy_are_limited_one_by_one()
    {
        var limiter = Limiter(burst: 3);
        // 100 distinct clients through the proxy at 127.0.0.1: each has its own budget.
        Assert.Equal(100, Granted(limiter, 100, i => Request("127.0.0.1", $"81.2.{i}.1")));
    }

    [Fact]
    public void Forwarded_for_from_an_untrusted_socket_does_not_buy_a_fresh_budget()
    {
        var limiter = Limiter(burst: 3);
        Assert.Equal(3, Granted(limiter, 100, i => Request("81.2.69.142", $"81.2.{i}.1")));
    }

    [Fact]
    public void An_ipv6_client_is_limited_by_its_64()
    {
        var limiter = Limiter(burst: 4);
        Assert.Equal(4, Granted(limiter, 100, i => Request($"2001:db8:1:2::{i + 1:x}")));
        Assert.Equal(4, Granted(limiter, 100, i => Request($"2001:db8:1:3::{i + 1:x}")));
    }

    [Theory]
    [InlineData("/-/health")]
    [InlineData("/-/metrics")]
    public void Health_and_metrics_are_never_limited(string path)
    {
        var limiter = Limiter(burst: 1);
        Assert.Equal(100, Granted(limiter, 100, _ => Request("127.0.0.1", path: path)));
    }

    [Fact]
    public void Memory_is_bounded_by_the_table_whatever_the_number_of_addresses()
    {
        var limiter = new ClientRateLimiter(new ClientAddressResolver(Options.Create(new RedirectorOptions())), _time,
            Options.Create(new RateLimitOptions { Slots = 1024 }));
        var seen = new HashSet<int>();
        for (var i = 0; i < 100_000; i++)
            seen.Add(limiter.SlotOf(new IPAddress((uint)i * 2654435761u)));
        Assert.InRange(seen.Count, 1000, 1024); // spread over the table, never beyond it
    }

    [Fact]
    public void Slots_must_be_a_power_of_two()
    {
        var errors = new RateLimitOptions { Slots = 1000 }.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(new object()));
        Assert.Contains(errors, e => e.ErrorMessage!.Contains("power of two", StringComparison.Ordinal));
    }
}
