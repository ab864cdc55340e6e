using System.Net;
using Downloads.Redirector.Clients;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Clients;

public class ClientAddressResolverTests
{
    private static ClientAddressResolver Resolver(string trusted = "127.0.0.1,::1,10.0.0.0/8") =>
        new(Options.Create(new RedirectorOptions { TrustedProxies = trusted }));

    private static string? Resolve(ClientAddressResolver resolver, string socket, params string[] forwarded)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(socket);
        if (forwarded.Length > 0)
            context.Request.Headers["X-Forwarded-For"] = forwarded;
        return resolver.Resolve(context)?.ToString();
    }

    [Theory]
    [InlineData("81.2.69.142", "81.2.69.142", "9.9.9.9")] // untrusted socket: header ignored
    [InlineData("127.0.0.1", "9.9.9.9", "9.9.9.9")]
    [InlineData("127.0.0.1", "81.2.69.142", "9.9.9.9, 81.2.69.142")] // client-supplied left part ignored
    [InlineData("127.0.0.1", "81.2.69.142", "9.9.9.9, 81.2.69.142, 10.1.2.3")] // trusted hops skipped
    [InlineData("::ffff:127.0.0.1", "81.2.69.142", "81.2.69.142")] // IPv4-mapped socket
    [InlineData("127.0.0.1", "10.1.2.3", "10.1.2.3")] // all trusted: the left-most
    [InlineData("127.0.0.1", "127.0.0.1", "not-an-address")] // garbage: the socket
    [InlineData("127.0.0.1", "2001:db8::1", "2001:db8::1")]
    public void Forwarded_for_is_believed_only_from_trusted_proxies(string socket, string expected, string header) =>
        Assert.Equal(expected, Resolve(Resolver(), socket, header));

    [Fact]
    public void Several_header_lines_are_walked_right_to_left() =>
        Assert.Equal("81.2.69.142", Resolve(Resolver(), "127.0.0.1", "9.9.9.9", "81.2.69.142, 10.0.0.1"));

    [Theory]
    [InlineData("127.0.0.1", "9.9.9.9, 81.2.69.142")] // forwarded chain walked
    [InlineData("::ffff:81.2.69.142", null)] // IPv4-mapped socket mapped
    public void Resolving_twice_on_one_request_returns_the_first_answer_without_parsing_again(string socket, string? forwarded)
    {
        var resolver = Resolver();
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(socket);
        if (forwarded is not null)
            context.Request.Headers["X-Forwarded-For"] = forwarded;
        var first = resolver.Resolve(context);
        Assert.NotNull(first);
        // Every parse or mapping makes a new IPAddress: the same instance means the second call did neither.
        Assert.Same(first, resolver.Resolve(context));
        Assert.Same(first, context.Features.Get<ClientAddressFeature>()?.Address);
        // A fresh request is resolved afresh (equal, not the cached instance).
        var other = new DefaultHttpContext();
        other.Connection.RemoteIpAddress = context.Connection.RemoteIpAddress;
        other.Request.Headers["X-Forwarded-For"] = context.Request.Headers["X-Forwarded-For"];
        var again = resolver.Resolve(other);
        Assert.Equal(first, again);
        Assert.NotSame(first, again);
    }

    [Fact]
    public void No_header_means_the_socket() => Assert.Equal("127.0.0.1", Resolve(Resolver(), "127.0.0.1"));

    [Fact]
    public void Empty_trust_list_trusts_nobody() => Assert.Equal("127.0.0.1", Resolve(Resolver(""), "127.0.0.1", "81.2.69.142"));

    [Fact]
    public void A_bad_trust_entry_fails_at_start_with_the_entry_named()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolver("127.0.0.1,localhost"));
        Assert.Contains("localhost", ex.Message, StringComparison.Ordinal);
    }
}
