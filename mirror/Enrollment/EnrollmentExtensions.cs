using Downloads.Contracts.Hosting;

namespace Downloads.Mirror.Enrollment;

/// <summary>Registration of enrollment.</summary>
public static class EnrollmentExtensions
{
    /// <summary>
    /// Adds <see cref="EnrollmentOptions"/> and an asynchronous first step of the host's start that decides the
    /// mirror's Redis credentials (enrolling first if needed, <see cref="EnrollingLifetime"/>); <see cref="RedisOptions.Configuration"/>
    /// carries its answer, so the Redis connection, made after it, uses them.
    /// </summary>
    public static IServiceCollection AddMirrorEnrollment(this IServiceCollection services)
    {
        services.AddOptions<EnrollmentOptions>().BindConfiguration(EnrollmentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EnrolledRedisConfiguration>();
        services.AddOptions<RedisOptions>().PostConfigure<EnrolledRedisConfiguration>((redis, enrolled) => redis.Configuration = enrolled.Configuration);
        // Wrap the lifetime the host builder registered (the console's, or systemd's).
        var lifetime = services.LastOrDefault(d => d.ServiceType == typeof(IHostLifetime))
            ?? throw new InvalidOperationException("AddMirrorEnrollment needs the host's IHostLifetime registered first; call it on a host builder's services");
        services.Remove(lifetime);
        services.AddSingleton<IHostLifetime>(sp => ActivatorUtilities.CreateInstance<EnrollingLifetime>(sp, Create(sp, lifetime)));
        return services;
    }

    private static IHostLifetime Create(IServiceProvider services, ServiceDescriptor descriptor) =>
        (IHostLifetime)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
