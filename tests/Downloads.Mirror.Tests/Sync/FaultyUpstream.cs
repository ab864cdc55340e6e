using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Downloads.Testing;

namespace Downloads.Mirror.Tests.Sync;

/// <summary>
/// A real Kestrel upstream on loopback that serves the origin's manifest and files (fetched from
/// the real origin) but tampers, corrupts or cuts the connection on demand, and counts what it sent.
/// </summary>
public sealed class FaultyUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _origin;

    public FaultyUpstream(string originUrl, int? port = null)
    {
        _origin = new HttpClient { BaseAddress = new Uri(originUrl + "/") };
        Url = $"http://127.0.0.1:{port ?? FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder([$"--urls={Url}", "--Logging:LogLevel:Default=Warning"]);
        _app = builder.Build();
        _app.MapGet("/{**path}", HandleAsync);
    }

    public string Url { get; }

    /// <summary>When set, served as the manifest and its signature instead of the origin's (a replay, or another key's).</summary>
    public (byte[] Manifest, string Signature)? Replay { get; set; }

    /// <summary>Requests for the manifest so far.</summary>
    public int ManifestRequests => Volatile.Read(ref _manifestRequests);
    private int _manifestRequests;

    /// <summary>Serves <paramref name="manifest"/> signed with <paramref name="privateKey"/> from now on.</summary>
    public void Publish(Downloads.Contracts.Manifests.Manifest manifest, string privateKey)
    {
        var bytes = Downloads.Contracts.Manifests.ManifestCodec.Serialize(manifest);
        Replay = (bytes, Downloads.Contracts.Manifests.ManifestSigner.Sign(bytes, privateKey));
    }

    /// <summary>Waits until the manifest has been asked for <paramref name="count"/> more times from now.</summary>
    public Task FetchedAgainAsync(int count, string what)
    {
        var target = ManifestRequests + count;
        return Eventually.TrueAsync(() => ManifestRequests >= target, TimeSpan.FromSeconds(30), what);
    }

    /// <summary>When set, flips a byte of every manifest served.</summary>
    public bool TamperManifest { get; set; }

    /// <summary>When set, the manifest is an endless chunked body (up to 256 MiB, or until the client leaves).</summary>
    public bool EndlessManifest { get; set; }

    /// <summary>Bytes of endless manifests sent.</summary>
    public long EndlessBytesSent => Interlocked.Read(ref _endlessBytes);
    private long _endlessBytes;

    /// <summary>Path whose bytes get corrupted at <see cref="CorruptOffset"/>, <see cref="CorruptTimes"/> times.</summary>
    public string? CorruptPath { get; set; }
    public long CorruptOffset { get; set; }
    private int _corruptTimes;
    public int CorruptTimes { get => _corruptTimes; set => _corruptTimes = value; }

    /// <summary>Path whose response is cut after <see cref="AbortAfter"/> bytes, once.</summary>
    public string? AbortPath { get; set; }
    public long AbortAfter { get; set; }

    /// <summary>Bytes of file bodies sent, by path.</summary>
    public ConcurrentDictionary<string, long> BytesSent { get; } = new();

    /// <summary>Range starts requested, by path, in order.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<long>> RangeStarts { get; } = new();

    private int _corruptionsServed;
    public int CorruptionsServed => _corruptionsServed;

    public Task StartAsync() => _app.StartAsync();

    private async Task HandleAsync(HttpContext context, string path)
    {
        if (path == "-/manifest.json")
            Interlocked.Increment(ref _manifestRequests);
        if (Replay is { } replay && path is "-/manifest.json" or "-/manifest.json.sig")
        {
            await context.Response.Body.WriteAsync(path == "-/manifest.json" ? replay.Manifest : System.Text.Encoding.ASCII.GetBytes(replay.Signature));
            return;
        }
        if (path == "-/manifest.json" && EndlessManifest)
        {
            await EndlessBody.WriteAsync(context, 64 * 1024, 4096, n => Interlocked.Add(ref _endlessBytes, n));
            return;
        }
        using var upstream = await _origin.GetAsync(path);
        if (!upstream.IsSuccessStatusCode)
        {
            context.Response.StatusCode = (int)upstream.StatusCode;
            return;
        }
        var bytes = await upstream.Content.ReadAsByteArrayAsync();
        if (path == "-/manifest.json" && TamperManifest)
        {
            // Change one digit of the serial field's neighbourhood: still valid JSON, different bytes.
            var text = System.Text.Encoding.UTF8.GetString(bytes).Replace("\"version\":1", "\"version\":1 ", StringComparison.Ordinal);
            bytes = System.Text.Encoding.UTF8.GetBytes(text);
        }
        // Service endpoints whole; files and staged ciphertexts (ranges, cuts, corruption) below.
        if (path.StartsWith("-/", StringComparison.Ordinal) && !path.StartsWith("-/staged/", StringComparison.Ordinal))
        {
            await context.Response.Body.WriteAsync(bytes);
            return;
        }
        long from = 0, to = bytes.Length - 1;
        if (RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range) && range.Ranges.Count == 1)
        {
            var r = range.Ranges.First();
            from = r.From ?? 0;
            to = Math.Min(r.To ?? bytes.Length - 1, bytes.Length - 1);
            context.Response.StatusCode = StatusCodes.Status206PartialContent;
            context.Response.Headers.ContentRange = $"bytes {from}-{to}/{bytes.Length}";
        }
        RangeStarts.GetOrAdd(path, _ => new()).Enqueue(from);
        var body = bytes.AsSpan((int)from, (int)(to - from + 1)).ToArray();
        if (path == CorruptPath && CorruptOffset >= from && CorruptOffset <= to && Interlocked.Decrement(ref _corruptTimes) >= 0)
        {
            body[CorruptOffset - from] ^= 0xFF;
            Interlocked.Increment(ref _corruptionsServed);
        }
        context.Response.ContentLength = body.Length;
        if (path == AbortPath && AbortAfter > from && AbortAfter <= to)
        {
            AbortPath = null;
            var n = (int)(AbortAfter - from);
            await context.Response.Body.WriteAsync(body.AsMemory(0, n));
            await context.Response.Body.FlushAsync();
            BytesSent.AddOrUpdate(path, n, (_, v) => v + n);
            context.Abort();
            return;
        }
        await context.Response.Body.WriteAsync(body);
        BytesSent.AddOrUpdate(path, body.Length, (_, v) => v + body.Length);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _origin.Dispose();
    }
}
