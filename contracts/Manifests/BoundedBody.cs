using System.Buffers;

namespace Downloads.Contracts.Manifests;

/// <summary>A response body too long for what it should be (a manifest, a signature): refused, not buffered.</summary>
public sealed class BodyTooLargeException(string message) : HttpRequestException(message);

/// <summary>
/// Reads a response body into memory with a hard cap, with or without a Content-Length: an upstream that
/// sends an endless chunked body (by fault or on purpose) costs at most the cap, never the 2 GiB that
/// <c>ReadAsByteArrayAsync</c> would buffer. A body with a length is read into one array of exactly that length.
/// </summary>
public static class BoundedBody
{
    /// <summary>The whole body, or <see cref="BodyTooLargeException"/> once it is known to exceed <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]> ReadAsync(HttpContent content, long maxBytes, string what, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } length)
        {
            if (length > maxBytes)
                throw TooLarge(what, maxBytes);
            var exact = new byte[length];
            await using var body = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await body.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        while (true)
        {
            var read = await stream.ReadAsync(buffer.GetMemory(16 * 1024), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                return buffer.WrittenSpan.ToArray();
            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
                throw TooLarge(what, maxBytes);
        }
    }

    /// <summary>The body as text (UTF-8), capped like <see cref="ReadAsync"/>.</summary>
    public static async Task<string> ReadStringAsync(HttpContent content, long maxBytes, string what, CancellationToken cancellationToken) =>
        System.Text.Encoding.UTF8.GetString(await ReadAsync(content, maxBytes, what, cancellationToken).ConfigureAwait(false));

    private static BodyTooLargeException TooLarge(string what, long maxBytes) =>
        new($"{what} is larger than {maxBytes} bytes: refused");
}
