using Downloads.Contracts.Checksums;
using Downloads.Redirector.Snapshots;

namespace Downloads.Redirector.Apis;

/// <summary>
/// The checksum files, answered by the redirector itself and never redirected: a checksum served by the same donated
/// mirror as the file would prove nothing. <c>{path}.sha256</c> and a folder's <c>SHA256SUMS</c> are built from the
/// verified manifest; <c>SHA256SUMS.minisig</c> is the origin's signature of that list, carried in the manifest;
/// <c>/-/minisign.pub</c> is the manifest key in minisign's form. A file of the same name in the manifest wins
/// (it is found first), as with <c>.meta4</c>.
/// </summary>
internal static partial class ChecksumsApi
{
    private const string TextPlain = "text/plain; charset=utf-8";
    private const string SignatureName = Sha256Sums.FolderFileName + Sha256Sums.SignatureSuffix;

    /// <summary>
    /// Where the redirector publishes the key that verifies <c>SHA256SUMS.minisig</c>: the pinned key that verified the
    /// manifest it serves (during a key rotation, the next key once the origin has switched).
    /// </summary>
    public const string PublicKeyPath = "/-/minisign.pub";

    public static IEndpointRouteBuilder MapChecksums(this IEndpointRouteBuilder app)
    {
        app.MapMethods(PublicKeyPath, [HttpMethods.Get, HttpMethods.Head], (RedirectHandler handler, Snapshots.SnapshotHolder holder) =>
            Minisign.PublicKeyFile(handler.Options.Keys.KeyOf(holder.Current.Index.VerifiedBy)) is { } file
                ? Results.Text(file, TextPlain)
                : TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, detail: "Redirector:PublicKey is not a base64 Ed25519 key"));
        return app;
    }

    /// <summary>
    /// Answers <paramref name="path"/> (a request path without its leading '/', not itself in the manifest) when it names
    /// a checksum file of <paramref name="index"/>; null when it names none.
    /// </summary>
    public static Task? TryWrite(HttpContext context, ManifestIndex index, ReadOnlySpan<char> path, string publicKey)
    {
        if (path.EndsWith(Sha256Sums.FileSuffix, StringComparison.Ordinal)
            && index.FilesBySpan.TryGetValue(path[..^Sha256Sums.FileSuffix.Length], out var file))
            return Write(context, Sha256Sums.Line(file.Hashes.AsSpan(0, Sha256Sums.HashLength), Sha256Sums.NameOf(file.Path)));

        var name = Sha256Sums.NameOf(path);
        if (name is not (Sha256Sums.FolderFileName or SignatureName)
            || !index.FoldersBySpan.TryGetValue(Sha256Sums.FolderOf(path), out var folder))
            return null;
        if (name is Sha256Sums.FolderFileName)
            return Write(context, folder.Sums);
        if (folder.Signature is null)
            return Problems.Write(context, StatusCodes.Status404NotFound, "the manifest carries no signature for this folder (published by an older origin)");
        if (folder.VerifiedSignatureFile(publicKey, index.Serial, index.Published, out var firstCheck) is not { } signature)
        {
            if (firstCheck)
                Log.SignatureMismatch(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChecksumsApi)), folder.Path, index.Serial);
            return Problems.Write(context, StatusCodes.Status503ServiceUnavailable,
                "the origin's signature does not match this redirector's SHA256SUMS (origin and redirector versions differ?)");
        }
        return Write(context, signature);
    }

    private static Task Write(HttpContext context, byte[] body)
    {
        // The lists change with each serial; caches must ask again rather than pair an old list with new files.
        context.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Bytes(body, TextPlain).ExecuteAsync(context);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = RedirectorEvents.ChecksumSignatureMismatch, Level = LogLevel.Warning,
            Message = "SHA256SUMS of '{Folder}' (serial {Serial}) does not verify against the origin's signature; its .minisig answers 503")]
        public static partial void SignatureMismatch(ILogger logger, string folder, long serial);
    }
}
