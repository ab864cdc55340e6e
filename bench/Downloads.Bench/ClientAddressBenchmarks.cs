using System.Net;
using BenchmarkDotNet.Attributes;
using Downloads.Redirector;
using Downloads.Redirector.Clients;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Bench;

/// <summary>
/// The client address of a redirect, ours against the framework's: <see cref="ClientAddressResolver"/> (what the
/// redirector runs) and ASP.NET Core's <see cref="ForwardedHeadersMiddleware"/> set up to decide the same way
/// (<c>X-Forwarded-For</c> and <c>-Proto</c>, trusted 127.0.0.1 and ::1, no hop limit). Requests come from a
/// trusted proxy (127.0.0.1) with one of 4,096 client addresses, as in bench/redirect.sh; <see cref="Hops"/> = 2
/// adds a second, trusted, proxy to each chain. Both put every request back as it came first (socket address,
/// header), which is part of both figures; <see cref="Reset"/> measures that alone.
/// </summary>
[MemoryDiagnoser]
public class ClientAddressBenchmarks
{
    private DefaultHttpContext[] _contexts = [];
    private string[] _forwarded = [];
    private ClientAddressResolver _resolver = null!;
    private ForwardedHeadersMiddleware _framework = null!;
    private int _next;

    [Params(1, 2)]
    public int Hops { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _resolver = new ClientAddressResolver(Options.Create(new RedirectorOptions()));
        var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = null };
        options.KnownIPNetworks.Clear();
        options.KnownProxies.Clear();
        options.KnownProxies.Add(IPAddress.Loopback);
        options.KnownProxies.Add(IPAddress.IPv6Loopback);
        _framework = new ForwardedHeadersMiddleware(_ => Task.CompletedTask, NullLoggerFactory.Instance, Options.Create(options));

        var random = new Random(1);
        _contexts = new DefaultHttpContext[4096];
        _forwarded = new string[_contexts.Length];
        for (var i = 0; i < _contexts.Length; i++)
        {
            var client = $"{random.Next(1, 224)}.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}";
            _forwarded[i] = Hops == 1 ? client : client + ", 127.0.0.1";
            var c = new DefaultHttpContext();
            c.Request.Path = "/noobs/file.img";
            _contexts[i] = c;
        }
        // Like for like: both must name the same client for every request.
        for (var i = 0; i < _contexts.Length; i++)
        {
            var ours = Ours();
            _next--;
            var theirs = Framework().GetAwaiter().GetResult();
            if (!Equals(ours, theirs))
                throw new InvalidOperationException($"request {i}: ours {ours}, the framework's {theirs}");
        }
    }

    /// <summary>The next request, as it arrives: from the proxy, with its header.</summary>
    private DefaultHttpContext Next()
    {
        var i = _next++ & (_contexts.Length - 1);
        var c = _contexts[i];
        c.Connection.RemoteIpAddress = IPAddress.Loopback;
        c.Request.Headers["X-Forwarded-For"] = _forwarded[i];
        c.Features.Set<ClientAddressFeature?>(null);
        c.Request.Headers.Remove("X-Original-For");
        return c;
    }

    /// <summary>Only putting the request back as it came: subtract it from the two below for their own cost.</summary>
    [Benchmark]
    public DefaultHttpContext Reset() => Next();

    [Benchmark(Baseline = true)]
    public IPAddress? Ours() => _resolver.Resolve(Next());

    [Benchmark]
    public async Task<IPAddress?> Framework()
    {
        var c = Next();
        await _framework.Invoke(c);
        return c.Connection.RemoteIpAddress;
    }
}
