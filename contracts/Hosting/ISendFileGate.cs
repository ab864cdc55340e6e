namespace Downloads.Contracts.Hosting;

/// <summary>
/// A request feature that paces and counts the bytes of a file response sent through
/// the file results of <see cref="ManifestFileResults"/> (the block copy, not the mirror's sendfile). A service sets it on a request
/// before the file result runs; without it the bytes flow as fast as the client takes them.
/// </summary>
public interface ISendFileGate
{
    /// <summary>
    /// Waits until more of the body may be sent and returns how many bytes (at least 1, at most
    /// <paramref name="wanted"/>); asked again once they have been sent. Completes synchronously when nothing holds it back.
    /// </summary>
    ValueTask<long> AcquireAsync(long wanted, CancellationToken cancellationToken);

    /// <summary>Counts <paramref name="bytes"/> written to the response and flushed.</summary>
    void Sent(int bytes);
}
