namespace Downloads.Mirror.Limits;

/// <summary>Registration of the connection limit.</summary>
public static class LimitsExtensions
{
    /// <summary>Adds <see cref="LimitsOptions"/>.</summary>
    public static IServiceCollection AddConnectionLimit(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return services;
    }

    /// <summary>Refuses requests on connections beyond the limit; put it early, after traffic counting.</summary>
    public static IApplicationBuilder UseConnectionLimit(this IApplicationBuilder app) => app.UseMiddleware<ConnectionLimitMiddleware>();
}
