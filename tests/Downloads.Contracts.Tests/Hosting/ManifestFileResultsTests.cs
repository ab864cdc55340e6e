using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Downloads.Contracts.Tests.Hosting;

/// <summary>File responses over real Kestrel: the bytes moved by <c>PipeSendFileFeature</c> in blocks, whole and ranged.</summary>
public sealed class ManifestFileResultsTests : IAsyncLifetime
{
    // Several blocks and a partial one, so block edges fall inside every range below.
    private static readonly byte[] Data = RandomNumberGenerator.GetBytes(5 * PipeSendFileFeature.BlockBytes + 1234);
    private readonly TempDirectory _dir = new("files");
    private WebApplication _app = null!;
    private string _url = "";

    public async Task InitializeAsync()
    {
        var path = _dir.Combine("big.img");
        await File.WriteAllBytesAsync(path, Data);
        var entry = new ManifestFile { Path = "os/big.img", Size = Data.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(Data)), Modified = DateTimeOffset.UnixEpoch };
        _url = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder([$"--urls={_url}"]);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapMethods("/os/big.img", ["GET", "HEAD"], () => ManifestFileResults.File(entry, path));
        var page = _dir.Combine("page.html");
        await File.WriteAllTextAsync(page, "<script>fetch('/-/api/mirrors')</script>");
        var pageEntry = new ManifestFile { Path = "pub/page.html", Size = new FileInfo(page).Length, Sha256 = new string('a', 64), Modified = DateTimeOffset.UnixEpoch };
        _app.MapMethods("/pub/page.html", ["GET", "HEAD"], () => ManifestFileResults.File(pageEntry, page, copyThroughPipe: false));
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Whole_file_arrives_byte_identical_with_its_length()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync($"{_url}/os/big.img");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Data.Length, response.Content.Headers.ContentLength);
        Assert.Equal(Data, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, PipeSendFileFeature.BlockBytes)]
    [InlineData(PipeSendFileFeature.BlockBytes - 7, 3 * PipeSendFileFeature.BlockBytes + 11)]
    [InlineData(5 * PipeSendFileFeature.BlockBytes, 5 * PipeSendFileFeature.BlockBytes + 1233)]
    public async Task Ranges_across_block_edges_carry_exactly_their_bytes(long from, long to)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_url}/os/big.img");
        request.Headers.Range = new RangeHeaderValue(from, to);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {from}-{to}/{Data.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(Data.AsSpan((int)from, (int)(to - from + 1)).ToArray(), await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.OK)]
    [InlineData("range", HttpStatusCode.PartialContent)]
    [InlineData("etag", HttpStatusCode.NotModified)]
    public async Task A_published_page_is_sandboxed_and_never_sniffed(string? ask, HttpStatusCode expected)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_url}/pub/page.html");
        if (ask == "range")
            request.Headers.Range = new RangeHeaderValue(0, 3);
        if (ask == "etag")
            request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{new string('a', 64)}\""));
        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("sandbox", string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_file_does_not_disturb_the_next_one()
    {
        using (var http = new HttpClient())
        {
            using var response = await http.GetAsync($"{_url}/os/big.img", HttpCompletionOption.ResponseHeadersRead);
            await using var body = await response.Content.ReadAsStreamAsync();
            var some = new byte[1000];
            await body.ReadExactlyAsync(some);
            Assert.Equal(Data.AsSpan(0, 1000).ToArray(), some);
        }
        using var again = new HttpClient();
        Assert.Equal(Data, await again.GetByteArrayAsync($"{_url}/os/big.img"));
    }
}
