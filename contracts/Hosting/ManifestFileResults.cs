using Downloads.Contracts.Manifests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Downloads.Contracts.Hosting;

/// <summary>
/// Turns a manifest entry and the verified bytes on disk into the HTTP result the origin and every
/// mirror serve, so that all of them answer Range, HEAD, If-Range, If-None-Match and
/// If-Modified-Since identically: the ETag is the strong, content-derived <c>"sha256"</c>, so a
/// client resuming on another mirror (aria2c, curl -C -) gets a matching validator.
/// </summary>
public static class ManifestFileResults
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = CreateContentTypes();

    /// <summary>The strong entity tag of a manifest entry.</summary>
    public static EntityTagHeaderValue ETagOf(ManifestFile entry) => new($"\"{entry.Sha256}\"");

    /// <summary>The media type served for a manifest path (by extension; octet-stream when unknown).</summary>
    public static string ContentTypeOf(string path) =>
        ContentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream";

    /// <summary>
    /// What every file response carries, whatever it holds: a published <c>.html</c> or <c>.svg</c> renders, if at all,
    /// in a sandbox with no script and no access to the origin it came from (the origin or a mirror serving our
    /// endpoints), and no browser second-guesses the content type.
    /// </summary>
    public const string ContentSecurityPolicy = "sandbox";

    /// <summary>
    /// A result that streams <paramref name="physicalPath"/> with Range processing: through
    /// <see cref="PipeSendFileFeature"/> when <paramref name="copyThroughPipe"/> (paced and counted by the request's
    /// <see cref="ISendFileGate"/> feature, if it has one), else through whatever response body feature the request
    /// already has (the mirror's sendfile one). Every answer, 200, 206 or 304,
    /// carries <see cref="ContentSecurityPolicy"/> and <c>X-Content-Type-Options: nosniff</c>.
    /// </summary>
    public static IResult File(ManifestFile entry, string physicalPath, bool copyThroughPipe = true)
    {
        var file = TypedResults.PhysicalFile(
            physicalPath,
            ContentTypeOf(entry.Path),
            fileDownloadName: null,
            lastModified: entry.Modified,
            entityTag: ETagOf(entry),
            enableRangeProcessing: true);
        return new SandboxedResult(copyThroughPipe ? new PipeSendFileResult(file) : file);
    }

    /// <summary>
    /// A file that is not in the manifest (the origin's staged ciphertext), served like <see cref="File(ManifestFile, string, bool)"/>
    /// through the block copy: Range processing, paced and counted by the request's <see cref="ISendFileGate"/>, sandboxed.
    /// </summary>
    public static IResult File(string physicalPath, string contentType) =>
        new SandboxedResult(new PipeSendFileResult(TypedResults.PhysicalFile(physicalPath, contentType, enableRangeProcessing: true)));

    /// <summary>A 404 with a one-line reason.</summary>
    public static IResult NotFound(string reason) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: reason);

    private sealed class SandboxedResult(IResult file) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var headers = httpContext.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            return file.ExecuteAsync(httpContext);
        }
    }

    // ASP.NET Core's file result decides what to send; the feature swapped in for its run only changes how the bytes move.
    private sealed class PipeSendFileResult(IResult file) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var body = httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
            httpContext.Features.Set<IHttpResponseBodyFeature>(new PipeSendFileFeature(body, httpContext.Features.Get<ISendFileGate>()));
            try
            {
                await file.ExecuteAsync(httpContext).ConfigureAwait(false);
            }
            finally
            {
                httpContext.Features.Set(body);
            }
        }
    }

    private static FileExtensionContentTypeProvider CreateContentTypes()
    {
        var provider = new FileExtensionContentTypeProvider();
        // Images are compressed disk images, not pictures: tell browsers to download them as bytes.
        provider.Mappings[".img"] = "application/octet-stream";
        provider.Mappings[".xz"] = "application/x-xz";
        provider.Mappings[".zip"] = "application/zip";
        provider.Mappings[".sig"] = "text/plain";
        return provider;
    }
}
