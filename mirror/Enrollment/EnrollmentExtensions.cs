using Downloads.Contracts.Hosting;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Enrollment;

/// <summary>Registration of enrollment.</summary>
public static class EnrollmentExtensions
{
    /// <summary>
    /// Adds <see cref="EnrollmentOptions"/> and rewrites <see cref="RedisOptions.Configuration"/> with the
    /// mirror's own credentials (enrolling first if needed) before the Redis connection is made.
    /// </summary>
    public static IServiceCollection AddMirrorEnrollment(this IServiceCollection services)
    {
        services.AddOptions<EnrollmentOptions>().BindConfiguration(EnrollmentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RedisOptions>().PostConfigure<IOptions<MirrorOptions>, IOptions<EnrollmentOptions>, ILoggerFactory>(
            (redis, mirror, enrollment, logs) =>
            {
                var client = new EnrollmentClient(mirror.Value, enrollment.Value, logs.CreateLogger("Downloads.Mirror.Enrollment"));
                redis.Configuration = client.Resolve(redis.Configuration);
            });
        return services;
    }
}
