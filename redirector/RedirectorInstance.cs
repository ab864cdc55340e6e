using System.Security.Cryptography;

namespace Downloads.Redirector;

/// <summary>
/// This redirector's name in the shared state: the value of the leases it takes (health probes, history
/// minutes) and the prefix of its counter batch ids. One per running redirector (one service container), not
/// per process: tests run several in one process, and two flushers with the same batch ids would take each
/// other's batches for already counted. Format <c>host:pid:8 hex digits</c>, the host name reduced to letters,
/// digits, '.' and '-' so that the id can sit in a key name (<see cref="Contracts.Redis.Keyspace.StatsFlushAck"/>).
/// </summary>
public sealed class RedirectorInstance
{
    /// <summary>The id, fixed for the life of this instance.</summary>
    public string Id { get; } = $"{Host(Environment.MachineName)}:{Environment.ProcessId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    private static string Host(string name) =>
        string.Create(name.Length, name, static (span, name) =>
        {
            for (var i = 0; i < name.Length; i++)
                span[i] = char.IsAsciiLetterOrDigit(name[i]) || name[i] is '.' or '-' ? name[i] : '-';
        });
}
