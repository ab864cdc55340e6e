using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Downloads.Mirror.Tests.Sync;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Serving;

/// <summary>One synced mirror shared by the serving tests (they only read).</summary>
public sealed class SyncedMirror : IAsyncLifetime
{
    public SyncWorld World { get; private set; } = null!;
    public MirrorHandle Mirror { get; private set; } = null!;
    private readonly TempDirectory _data = new("serve");

    public async Task InitializeAsync()
    {
        World = await SyncWorld.StartAsync();
        Mirror = await World.StartMirrorAsync("s1", World.OriginUrl, _data.Path);
        await Mirror.WaitForSerialAsync(1);
    }

    public async Task DisposeAsync()
    {
        await World.DisposeAsync();
        _data.Dispose();
    }
}

public class ServingTests(SyncedMirror fixture) : IClassFixture<SyncedMirror>
{
    private const string Big = "os/raspios-bookworm-arm64.img.xz";
    private static readonly HttpClient Http = new();

    private string Url(string path) => $"{fixture.Mirror.Url}/{path}";

    [Fact]
    public async Task Head_answers_length_etag_last_modified_type_and_accept_ranges_without_a_body()
    {
        var entry = fixture.Mirror.Live.Current.Files[Big].Entry;
        using var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url(Big)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(entry.Size, response.Content.Headers.ContentLength);
        Assert.Equal($"\"{entry.Sha256}\"", response.Headers.ETag?.Tag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Equal(entry.Modified.ToUnixTimeSeconds(), response.Content.Headers.LastModified?.ToUnixTimeSeconds());
        Assert.Equal("application/x-xz", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("bytes", response.Headers.AcceptRanges);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Range_if_range_and_if_none_match_behave_as_clients_expect()
    {
        var entry = fixture.Mirror.Live.Current.Files[Big].Entry;
        var bytes = fixture.World.OriginBytes(Big);

        var ranged = new HttpRequestMessage(HttpMethod.Get, Url(Big));
        ranged.Headers.Range = new RangeHeaderValue(1000, 1999);
        using (var r = await Http.SendAsync(ranged))
        {
            Assert.Equal(HttpStatusCode.PartialContent, r.StatusCode);
            Assert.Equal($"bytes 1000-1999/{entry.Size}", r.Content.Headers.ContentRange?.ToString());
            Assert.Equal(bytes.AsSpan(1000, 1000).ToArray(), await r.Content.ReadAsByteArrayAsync());
        }

        var stale = new HttpRequestMessage(HttpMethod.Get, Url(Big));
        stale.Headers.Range = new RangeHeaderValue(1000, 1999);
        stale.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"not-this-version\""));
        using (var r = await Http.SendAsync(stale))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(entry.Size, (await r.Content.ReadAsByteArrayAsync()).Length);
        }

        var cached = new HttpRequestMessage(HttpMethod.Get, Url(Big));
        cached.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{entry.Sha256}\""));
        using (var r = await Http.SendAsync(cached))
            Assert.Equal(HttpStatusCode.NotModified, r.StatusCode);

        var beyond = new HttpRequestMessage(HttpMethod.Get, Url(Big));
        beyond.Headers.Range = new RangeHeaderValue(entry.Size + 10, null);
        using (var r = await Http.SendAsync(beyond))
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, r.StatusCode);
    }

    [Fact]
    public async Task Interrupted_curl_download_resumed_with_C_is_byte_identical()
    {
        using var dir = new TempDirectory("curl");
        var target = dir.Combine("img.xz");
        var bytes = fixture.World.OriginBytes(Big);
        await File.WriteAllBytesAsync(target, bytes.AsSpan(0, bytes.Length / 3).ToArray());

        var (code, output) = await RunAsync("curl", "-sS", "-f", "-C", "-", "-o", target, Url(Big));
        Assert.True(code == 0, output);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(target));
    }

    [Fact]
    public async Task Interrupted_aria2c_download_resumed_with_c_is_byte_identical()
    {
        using var dir = new TempDirectory("aria2");
        var bytes = fixture.World.OriginBytes(Big);
        await File.WriteAllBytesAsync(dir.Combine("img.xz"), bytes.AsSpan(0, bytes.Length / 2).ToArray());

        var (code, output) = await RunAsync("aria2c", "-q", "-c", "--allow-overwrite=false", "--auto-file-renaming=false", "-d", dir.Path, "-o", "img.xz", Url(Big));
        Assert.True(code == 0, output);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(dir.Combine("img.xz")));
    }

    [Theory]
    [InlineData("/%2e%2e/etc/passwd")]
    [InlineData("/../../etc/passwd")]
    [InlineData("/noobs/..%2f..%2fetc%2fpasswd")]
    [InlineData("/noobs/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/objects")]
    [InlineData("/live.json")]
    [InlineData("/partial")]
    public async Task Traversal_and_internal_paths_are_refused(string rawPath)
    {
        // A raw socket so no client library normalises the path first.
        var port = new Uri(fixture.Mirror.Url).Port;
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var status = await reader.ReadLineAsync();
        Assert.NotNull(status);
        Assert.Matches("^HTTP/1.1 (400|404) ", status);
    }

    [Fact]
    public async Task Unknown_path_is_404_with_a_one_line_reason()
    {
        using var response = await Http.GetAsync(Url("noobs/missing.zip"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("'noobs/missing.zip' is not in serial 1", body, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunAsync(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
