using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Snapshots;

/// <summary>
/// Fetches the origin's manifest and detached signature and accepts them only when the signature verifies.
/// A poll first asks for the signature alone (a few dozen bytes): the same signature as the document
/// last accepted means the same document, so the manifest (tens of MB at 100,000 files) is neither
/// downloaded nor read again. Should the origin serve a new document under the old signature for a moment
/// (mid-publish), keeping the verified one is the right answer anyway. A verified document is read straight
/// into a <see cref="ManifestIndex"/>: the parsed manifest is never materialised.
/// </summary>
internal sealed class ManifestFetcher(HttpClient http, IOptions<RedirectorOptions> options, CounterRegistry counters)
{
    private string? _etag;
    private string? _signature;

    /// <summary>
    /// Outcome of one fetch: the index of a verified manifest with the document and signature it was read from (kept
    /// by <see cref="SavedState"/>), "unchanged", or a one-line error.
    /// </summary>
    public readonly record struct Result(ManifestIndex? Index, bool Unchanged, string? Error, byte[]? Bytes = null, string? Signature = null);

    public async Task<Result> FetchAsync(CancellationToken cancellationToken)
    {
        var origin = options.Value.Origin.TrimEnd('/');
        try
        {
            if (_signature is not null
                && string.Equals(await GetSignatureAsync(origin, cancellationToken), _signature, StringComparison.Ordinal))
                return new Result(null, true, null);
            var (bytes, etag, failure) = await DownloadAsync(origin, cancellationToken);
            if (bytes is null)
                return new Result(null, failure is null, failure);
            var signature = await GetSignatureAsync(origin, cancellationToken);
            var result = Verify(bytes, signature);
            if (result.Index is not null)
                (_etag, _signature) = (etag, signature);
            return result;
        }
        catch (BodyTooLargeException ex)
        {
            return new Result(null, false, ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Result(null, false, $"{origin} unreachable: {ex.Message}");
        }
    }

    /// <summary>
    /// Verifies a document against the pinned keys and reads it into an index: what the origin sent, or what
    /// <see cref="SavedState"/> kept (checked again on load, as if it came from the network).
    /// </summary>
    public Result Verify(byte[] bytes, string signature)
    {
        var key = options.Value.Keys.Verify(bytes, signature);
        if (key == PinnedKey.None)
            return new Result(null, false, "manifest signature verifies against neither Redirector:PublicKey nor Redirector:NextPublicKey");
        var index = ManifestIndex.TryRead(bytes, counters, out var error)?.VerifiedWith(key);
        return index is null ? new Result(null, false, error) : new Result(index, false, null, bytes, signature);
    }

    /// <summary>After a saved manifest was adopted: the origin's next answer with the same signature is "unchanged".</summary>
    public void Assume(string signature) => (_etag, _signature) = (null, signature);

    /// <summary>The document, or null and "unchanged" (no failure) or a failure.</summary>
    private async Task<(byte[]? Bytes, string? ETag, string? Failure)> DownloadAsync(string origin, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, origin + ManifestDefaults.ManifestPath);
        if (_etag is not null)
            request.Headers.TryAddWithoutValidation("If-None-Match", _etag);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotModified)
            return (null, null, null);
        if (!response.IsSuccessStatusCode)
            return (null, null, $"GET {ManifestDefaults.ManifestPath} answered {(int)response.StatusCode}");
        return (await ReadBodyAsync(response.Content, cancellationToken), response.Headers.ETag?.ToString(), null);
    }

    /// <summary>
    /// The body, capped at <see cref="RedirectorOptions.MaxManifestBytes"/> with or without a length (<see cref="BoundedBody"/>),
    /// in one array of its exact length when the origin says the length: ReadAsByteArrayAsync would buffer it in
    /// ArrayPool segments and copy them out, twice the document's size at once (~58 MB allocated for 27 MB at
    /// 100,000 files) and up to ~31 MB left in the pool through the index build, the top of the redirector's peak.
    /// </summary>
    private async Task<byte[]> ReadBodyAsync(HttpContent content, CancellationToken cancellationToken)
    {
        // With ResponseHeadersRead the client's timeout has stopped at the headers: the body gets one of its own.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(http.Timeout);
        return await BoundedBody.ReadAsync(content, options.Value.MaxManifestBytes, ManifestDefaults.ManifestPath, timeout.Token);
    }

    /// <summary>The detached signature, read with a cap of its own.</summary>
    private async Task<string> GetSignatureAsync(string origin, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(origin + ManifestDefaults.SignaturePath, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await BoundedBody.ReadStringAsync(response.Content, ManifestDefaults.MaxSignatureBytes, ManifestDefaults.SignaturePath, cancellationToken);
    }

    /// <summary>Forgets the ETag and signature so the next fetch downloads the document whatever the origin says.</summary>
    public void Reset() => (_etag, _signature) = (null, null);
}
