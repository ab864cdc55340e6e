using Downloads.Contracts.Identity;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Downloads.Origin.Limits;

/// <summary>Registers and installs the origin's request limits (<see cref="OriginAdmission"/>).</summary>
internal static class LimitsExtensions
{
    /// <summary>Adds the options, the mirror key directory (read from Redis), the admission and the pacer.</summary>
    public static IServiceCollection AddOriginLimits(this IServiceCollection services)
    {
        services.AddOptions<OriginLimitsOptions>().BindConfiguration(OriginLimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MirrorKeyDirectory>();
        services.AddHostedService(sp => sp.GetRequiredService<MirrorKeyDirectory>());
        services.AddSingleton(new NonceCache());
        services.AddSingleton<OriginPacer>();
        services.AddSingleton<OriginAdmission>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<OriginLimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxConcurrentConnections = limits.Value.MaxConnections > 0 ? limits.Value.MaxConnections : null);
        return services;
    }

    /// <summary>Puts the admission in front of the file endpoints.</summary>
    public static IApplicationBuilder UseOriginLimits(this IApplicationBuilder app)
    {
        var admission = app.ApplicationServices.GetRequiredService<OriginAdmission>();
        return app.Use((context, next) => admission.InvokeAsync(context, next));
    }
}
