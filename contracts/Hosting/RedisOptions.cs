using System.ComponentModel.DataAnnotations;

namespace Downloads.Contracts.Hosting;

/// <summary>How a service reaches Redis. Section <c>Redis</c>.</summary>
public sealed class RedisOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379,user=m-uk1,password=…</c>.</summary>
    [Required]
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>
    /// PEM file of the private CA(s) that signed the Redis (and Sentinel) server certificates. Set: the
    /// connection uses TLS (<c>ssl=true</c>) and trusts a server only when its certificate chains to one of
    /// these CAs and names the host connected to; the system's CAs are not trusted for Redis. Empty: plaintext
    /// unless the configuration string says <c>ssl=true</c> (then the system's CAs).
    /// </summary>
    public string? CaCertificate { get; set; }
}
