using System.Net;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Staging;
using Downloads.Redirector.Snapshots;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Staging;

/// <summary>A file of the manifest that was released from staging: its path, the id it was staged under, and when this redirector first saw it.</summary>
/// <param name="Path">Manifest path.</param>
/// <param name="Id">The opaque id its ciphertext travelled under (what mirrors report holding).</param>
/// <param name="Since">When this redirector first saw it released (its clock).</param>
internal sealed record StagedRelease(string Path, string Id, DateTimeOffset Since);

/// <summary>
/// Which files of the routed manifest came from staging: the released part of the origin's signed staging list, read once
/// per new manifest serial (the origin writes the list before the manifest, so the list read after a new serial has its
/// key). Only entries whose path and SHA-256 are those of the manifest's own entry count. The selection policy then counts
/// the mirrors holding their ciphertext as synced for them for <see cref="RedirectorOptions.StagedReleaseSeconds"/>
/// (Selection/Eligibility.HoldsRelease). Nothing here is served: the list is public and only its released part is used.
/// </summary>
internal sealed partial class ReleaseWatch(IHttpClientFactory clients, IOptions<RedirectorOptions> options, TimeProvider time, ILogger<ReleaseWatch> log)
{
    /// <summary>Largest staging list read (its entries are a few hundred bytes each).</summary>
    private const long MaxListBytes = 16L << 20;

    private StagedRelease[] _current = [];
    private long _serial = -1;
    private string? _failure;

    /// <summary>The released files of the routed manifest.</summary>
    public IReadOnlyList<StagedRelease> Current => Volatile.Read(ref _current);

    /// <summary>Reads the list when <paramref name="index"/> is a serial not read for yet; a failure keeps what was known and retries next round.</summary>
    public async Task RefreshAsync(ManifestIndex index, CancellationToken cancellationToken)
    {
        if (!index.IsLoaded || index.Serial == _serial)
            return;
        var origin = options.Value.Origin.TrimEnd('/');
        var http = clients.CreateClient(nameof(ReleaseWatch));
        StagingList? list;
        try
        {
            using var response = await http.GetAsync(origin + StagingDefaults.ListPath, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // An origin that stages nothing (or predates staging): no release to know of.
                Use(index, []);
                return;
            }
            response.EnsureSuccessStatusCode();
            var bytes = await BoundedBody.ReadAsync(response.Content, MaxListBytes, StagingDefaults.ListPath, cancellationToken);
            using var sig = await http.GetAsync(origin + StagingDefaults.SignaturePath, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            sig.EnsureSuccessStatusCode();
            var signature = await BoundedBody.ReadStringAsync(sig.Content, ManifestDefaults.MaxSignatureBytes, StagingDefaults.SignaturePath, cancellationToken);
            if (options.Value.Keys.Verify(bytes, signature.Trim()) == PinnedKey.None)
            {
                Fail("its signature verifies against neither Redirector:PublicKey nor Redirector:NextPublicKey");
                return;
            }
            list = StagingDefaults.TryParse(bytes, out var error);
            if (list is null)
            {
                Fail(error ?? "malformed");
                return;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException
            or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Fail($"{origin} unreachable: {ex.Message}");
            return;
        }
        Use(index, list.Released);
    }

    private void Use(ManifestIndex index, IReadOnlyList<ReleasedFile> released)
    {
        var before = Volatile.Read(ref _current);
        var now = time.GetUtcNow();
        var result = new List<StagedRelease>(released.Count);
        foreach (var r in released)
        {
            // The manifest's entry decides: a list entry for another path or other bytes counts for nothing.
            if (!index.Files.TryGetValue(r.Path, out var file) || !string.Equals(file.Sha256Hex, r.Sha256, StringComparison.Ordinal))
                continue;
            var known = Array.Find(before, b => b.Id == r.Id && b.Path == r.Path);
            if (known is null)
                LogReleaseSeen(log, r.Path, r.Id, file.ChangedAt);
            result.Add(known ?? new StagedRelease(r.Path, r.Id, now));
        }
        Volatile.Write(ref _current, [.. result]);
        _serial = index.Serial;
        _failure = null;
    }

    private void Fail(string reason)
    {
        // Once per distinct reason: the next rounds retry quietly.
        if (reason != _failure)
            LogListUnusable(log, reason);
        _failure = reason;
    }

    [LoggerMessage(EventId = RedirectorEvents.StagedReleaseSeen, Level = LogLevel.Information,
        Message = "'{Path}' released from staging (id {Id}, serial {Serial}): mirrors holding its ciphertext count as synced for it until they report")]
    private static partial void LogReleaseSeen(ILogger logger, string path, string id, long serial);

    [LoggerMessage(EventId = RedirectorEvents.StagingListUnusable, Level = LogLevel.Warning,
        Message = "Staging list not used ({Reason}); released files go to mirrors that report their serial, retrying each round")]
    private static partial void LogListUnusable(ILogger logger, string reason);
}
