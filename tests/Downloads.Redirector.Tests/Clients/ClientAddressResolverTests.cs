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
