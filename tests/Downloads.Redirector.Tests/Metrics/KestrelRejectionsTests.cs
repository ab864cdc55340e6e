using System.Net;
using System.Net.Sockets;
using System.Text;
using Downloads.Redirector.Tests.Network;
using Downloads.Testing;
using Xunit.Abstractions;

namespace Downloads.Redirector.Tests.Metrics;

/// <summary>
/// Refusals Kestrel makes before the application sees a request (431, 414, the connection cap) are counted from
/// Kestrel's own meter and exported on <c>/-/metrics</c>: sent over raw sockets, as a hostile client would.
/// </summary>
public sealed class KestrelRejectionsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private TestNetwork _net = null!;

    public async Task InitializeAsync()
    {
        _net = await TestNetwork.StartAsync(_redis);
        await _net.StartRedirectorAsync(true, "--Limits:MaxConcurrentConnections=4");
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_net is not null)
                await _net.DisposeAsync();
        }
        finally
        {
            _redis.Dispose();
        }
    }

    private int Port => new Uri(_net.Url).Port;

    /// <summary>Sends <paramref name="request"/> on a new connection; the status line of the answer, or "" if closed without one.</summary>
    private async Task<string> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port);
        var stream = tcp.GetStream();
        stream.ReadTimeout = 10_000;
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var text = Encoding.ASCII.GetString(buffer, 0, read);
        var end = text.IndexOf('\r');
        return end < 0 ? text : text[..end];
    }

    private async Task<Dictionary<string, double>> ErrorsAsync()
    {
        var samples = PrometheusText.Parse(await _net.Http.GetStringAsync(_net.Url + "/-/metrics"));
        return samples.Where(s => s.Name == "downloads_kestrel_connection_errors_total").ToDictionary(s => s.Label("error_type")!, s => s.Value);
    }

    [Fact]
    public async Task Header_and_request_line_refusals_and_the_connection_cap_are_exported_from_Kestrels_meter()
    {
        Assert.StartsWith("HTTP/1.1 431", await RawAsync($"GET /os/x.img HTTP/1.1\r\nHost: a\r\nX-Big: {new string('a', 20_000)}\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 414", await RawAsync($"GET /{new string('a', 9_000)} HTTP/1.1\r\nHost: a\r\n\r\n"));

        // The cap: six connections at once against a cap of four (the test's HTTP client may hold one more).
        var held = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                var tcp = new TcpClient();
                held.Add(tcp);
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
            }
            // A refused connection is closed at once (end of stream or a reset); an accepted one waits for its request.
            var reads = held.Select(h => h.GetStream().ReadAsync(new byte[16]).AsTask()).ToList();
            await Task.WhenAny(reads).WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            foreach (var h in held)
                h.Dispose();
        }
        await Eventually.TrueAsync(async () => await _net.MetricAsync("downloads_kestrel_rejected_connections_total") >= 1,
            TimeSpan.FromSeconds(15), "Kestrel counts a connection refused at the cap");

        Dictionary<string, double> errors = [];
        await Eventually.TrueAsync(async () =>
        {
            errors = await ErrorsAsync();
            return errors.Values.Sum() >= 2;
        }, TimeSpan.FromSeconds(15), "both refused requests are counted by error type");
        output.WriteLine(string.Join(", ", errors.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.Equal(1, errors.GetValueOrDefault("max_request_headers_total_size_exceeded"));
        Assert.Equal(1, errors.GetValueOrDefault("invalid_request_line")); // Kestrel names a 414 so too
        Assert.True(errors.GetValueOrDefault("max_concurrent_connections_exceeded") >= 1, string.Join(", ", errors.Keys));
    }
}
