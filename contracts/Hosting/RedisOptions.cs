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
}
