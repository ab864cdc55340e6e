namespace Downloads.Mirror.Sync;

/// <summary>A chunk whose SHA-256 did not match the signed manifest; the request is retried.</summary>
public sealed class CorruptChunkException(string message) : Exception(message);

/// <summary>The upstream kept serving a corrupt chunk: the sync stops and the upstream is reported.</summary>
public sealed class UpstreamCorruptException(string message) : Exception(message);

/// <summary>The upstream answered with a status worth retrying (5xx, 429).</summary>
public sealed class UpstreamStatusException(string message) : Exception(message);

/// <summary>The upstream does not have what its manifest promised (404, another version): not retried within this sync.</summary>
public sealed class UpstreamMismatchException(string message) : Exception(message);
