using System.Net;
using System.Security.Cryptography;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Health;

/// <summary>
/// Probes one mirror: a HEAD of a random file it should have (its set, synced at or past the serial
/// where the file last changed) and a ranged GET of one random whole chunk of it, hashed and compared
/// with the manifest's chunk hash — so a mirror serving wrong bytes is caught, not just a missing file.
/// </summary>
public sealed class MirrorProber(HttpClient http, TimeProvider time)
{
    /// <summary>The probe, or null when the mirror has nothing it should serve yet.</summary>
    public async Task<ProbeResult?> ProbeAsync(MirrorRecord mirror, Manifest manifest, Random random, CancellationToken cancellationToken)
    {
        var file = PickFile(mirror, manifest, random);
        if (file is null)
            return null;
        var started = time.GetTimestamp();
        var urls = new List<string>(2);
        if (mirror.HttpUrl.Length > 0)
            urls.Add(mirror.HttpUrl);
        if (mirror.HttpsUrl.Length > 0)
            urls.Add(mirror.HttpsUrl);
        var relative = string.Join('/', file.Path.Split('/').Select(Uri.EscapeDataString));
        var chunk = file.Chunks.Count > 0 ? random.Next(file.Chunks.Count) : 0;
        var from = (long)chunk * manifest.ChunkSize;
        var to = Math.Min(file.Size, from + manifest.ChunkSize) - 1;
        var getUrl = $"{urls[random.Next(urls.Count)]}/{relative}";
        var probe = $"HEAD+GET {getUrl} bytes={from}-{to}";
        try
        {
            foreach (var baseUrl in urls)
            {
                if (await HeadAsync($"{baseUrl}/{relative}", file, cancellationToken) is { } headError)
                    return Fail(headError);
            }
            if (await GetChunkAsync(getUrl, from, to, file.Chunks.Count > 0 ? file.Chunks[chunk] : null, cancellationToken) is { } getError)
                return Fail(getError);
            return new ProbeResult(true, "", probe, Elapsed());
        }
        catch (OperationCanceledException)
        {
            return Fail($"timed out probing {getUrl}");
        }
        catch (HttpRequestException e)
        {
            return Fail($"{getUrl}: {e.HttpRequestError} ({e.Message})");
        }

        ProbeResult Fail(string reason) => new(false, reason, probe, Elapsed());
        double Elapsed() => time.GetElapsedTime(started).TotalMilliseconds;
    }

    private async Task<string?> HeadAsync(string url, ManifestFile file, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
            return $"HEAD {url}: {(int)response.StatusCode}, expected 200";
        if (response.Content.Headers.ContentLength is { } length && length != file.Size)
            return $"HEAD {url}: Content-Length {length}, manifest says {file.Size}";
        return null;
    }

    private async Task<string?> GetChunkAsync(string url, long from, long to, string? expectedHash, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(from, to);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var range = $"bytes={from}-{to}";
        if (response.StatusCode != HttpStatusCode.PartialContent)
            return $"GET {url} {range}: {(int)response.StatusCode}, expected 206";
        var want = to - from + 1;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[64 * 1024];
        long got = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            got += read;
            if (got > want)
                return $"GET {url} {range}: more than the {want} bytes asked for";
            hash.AppendData(buffer, 0, read);
        }
        if (got != want)
            return $"GET {url} {range}: {got} bytes, expected {want}";
        var actual = hash.GetHashAndReset();
        if (expectedHash is not null && !ChunkHash.DigestMatches(actual, expectedHash))
            return $"GET {url} {range}: chunk hash {ChunkHash.Hex(actual)[..12]}… differs from the manifest's {expectedHash[..Math.Min(12, expectedHash.Length)]}… (wrong bytes served)";
        return null;
    }

    // Index loop, no LINQ: one pass to count, one to pick; thousands of files per mirror per round.
    internal static ManifestFile? PickFile(MirrorRecord mirror, Manifest manifest, Random random)
    {
        var files = manifest.Files;
        var eligible = 0;
        for (var i = 0; i < files.Count; i++)
        {
            if (Eligible(mirror, files[i]))
                eligible++;
        }
        if (eligible == 0)
            return null;
        var pick = random.Next(eligible);
        for (var i = 0; i < files.Count; i++)
        {
            if (Eligible(mirror, files[i]) && pick-- == 0)
                return files[i];
        }
        return null;
    }

    private static bool Eligible(MirrorRecord mirror, ManifestFile file) =>
        file.Size > 0 && file.ChangedAt <= mirror.Serial && (mirror.Sets.Count == 0 || mirror.Carries(file.Set));
}
