namespace Downloads.Mirror.Reporting;

/// <summary>
/// Live traffic totals since start, updated on the serving path with single interlocked adds and read
/// by the reporter. Bytes are counted as the kernel takes them (see <see cref="Transport.SocketOutput"/>),
/// so they are what actually went to clients: headers, file bodies and aborted transfers alike.
/// </summary>
public sealed class TrafficCounters
{
    private long _bytes;
    private long _fileBytes;
    private long _requests;
    private long _connections;
    private long _connectionsTotal;

    /// <summary>Bytes written to client connections since start.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Of <see cref="Bytes"/>, those the kernel sent straight from files (sendfile) rather than copied through Kestrel.</summary>
    public long FileBytes => Interlocked.Read(ref _fileBytes);

    /// <summary>HTTP requests received since start.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Client connections open now.</summary>
    public long OpenConnections => Interlocked.Read(ref _connections);

    /// <summary>Client connections accepted since start.</summary>
    public long ConnectionsTotal => Interlocked.Read(ref _connectionsTotal);

    internal void AddBytes(long count) => Interlocked.Add(ref _bytes, count);

    internal void AddFileBytes(long count)
    {
        Interlocked.Add(ref _fileBytes, count);
        Interlocked.Add(ref _bytes, count);
    }

    internal void AddRequest() => Interlocked.Increment(ref _requests);

    /// <summary>Counts a new connection; returns how many are open including it.</summary>
    internal long ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsTotal);
        return Interlocked.Increment(ref _connections);
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _connections);
}
