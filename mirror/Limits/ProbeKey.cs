using Downloads.Contracts.Mirrors;

namespace Downloads.Mirror.Limits;

/// <summary>
/// This mirror's health-probe key (<see cref="ProbeToken"/>): random, made at start, kept only in memory and
/// published in the mirror's state hash by every report, where redirectors read it. A restart makes a new one;
/// until redirectors have read it, their probes are simply served like any client's.
/// </summary>
public sealed class ProbeKey
{
    private readonly byte[] _key;

    /// <summary>A new random key.</summary>
    public ProbeKey()
        : this(ProbeToken.NewKey())
    {
    }

    /// <summary>A given key (tests).</summary>
    public ProbeKey(byte[] key)
    {
        _key = key;
        Encoded = ProbeToken.EncodeKey(key);
    }

    /// <summary>The key as published (<see cref="Contracts.Redis.Keyspace.StateFields.ProbeKey"/>).</summary>
    public string Encoded { get; }

    /// <summary>The key.</summary>
    public ReadOnlySpan<byte> Bytes => _key;
}
