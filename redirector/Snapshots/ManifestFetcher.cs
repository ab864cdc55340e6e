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

    /// <summary>Outcome of one fetch: the index of a verified manifest, "unchanged", or a one-line error.</summary>
    public readonly record struct Result(ManifestIndex? Index, bool Unchanged, string? Error);

    public async Task<Result> FetchAsync(CancellationToken cancellationToken)
    {
        var origin = options.Value.Origin.TrimEnd('/');
        try
        {
            if (_signature is not null
                && string.Equals(await http.GetStringAsync(origin + ManifestDefaults.SignaturePath, cancellationToken), _signature, StringComparison.Ordinal))
                return new Result(null, true, null);
            using var request = new HttpRequestMessage(HttpMethod.Get, origin + ManifestDefaults.ManifestPath);
            if (_etag is not null)
                request.Headers.TryAddWithoutValidation("If-None-Match", _etag);
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotModified)
                return new Result(null, true, null);
            if (!response.IsSuccessStatusCode)
                return new Result(null, false, $"GET {ManifestDefaults.ManifestPath} answered {(int)response.StatusCode}");
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var signature = await http.GetStringAsync(origin + ManifestDefaults.SignaturePath, cancellationToken);
            if (!ManifestSigner.Verify(bytes, signature, options.Value.PublicKey))
                return new Result(null, false, "manifest signature does not verify against Redirector:PublicKey");
            var index = ManifestIndex.TryRead(bytes, counters, out var error);
            if (index is null)
                return new Result(null, false, error);
            _etag = response.Headers.ETag?.ToString();
            _signature = signature;
            return new Result(index, false, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Result(null, false, $"{origin} unreachable: {ex.Message}");
        }
    }

    /// <summary>Forgets the ETag and signature so the next fetch downloads the document whatever the origin says.</summary>
    public void Reset() => (_etag, _signature) = (null, null);
}
