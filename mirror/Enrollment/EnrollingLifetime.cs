using Downloads.Contracts.Hosting;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Enrollment;

/// <summary>
/// Runs enrollment as the first, asynchronous step of the host's start. The host awaits
/// <see cref="IHostLifetime.WaitForStartAsync"/> before it builds the hosted services (which connect to Redis,
/// and must do so with the credentials decided here) or validates any options, so nothing has connected yet;
/// the framework's own lifetime (Ctrl-C, SIGTERM) is wrapped and runs first, so a stop during a retry ends
/// the start. A failed enrollment fails the start with its reason.
/// </summary>
internal sealed class EnrollingLifetime(
    IHostLifetime inner,
    IConfiguration configuration,
    IOptions<MirrorOptions> mirror,
    IOptions<EnrollmentOptions> enrollment,
    EnrolledRedisConfiguration result,
    ILoggerFactory logs) : IHostLifetime
{
    public async Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        await inner.WaitForStartAsync(cancellationToken);
        // The configured value, bound as AddDownloadsRedis binds it; the options themselves wait for the answer.
        var configured = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        var client = new EnrollmentClient(mirror.Value, enrollment.Value, logs.CreateLogger("Downloads.Mirror.Enrollment"));
        result.Configuration = await client.ResolveAsync(configured.Configuration, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);
}

/// <summary>The Redis configuration string enrollment decided on; <see cref="RedisOptions"/> takes it.</summary>
internal sealed class EnrolledRedisConfiguration
{
    private string? _configuration;

    public string Configuration
    {
        get => _configuration ?? throw new InvalidOperationException(
            "Redis options were read before the mirror's start decided its credentials; resolve Redis only from hosted services or after the host started");
        set => _configuration = value;
    }
}
