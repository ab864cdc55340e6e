using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Geo;

/// <summary>Registers client geolocation.</summary>
public static class GeoServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="GeoOptions"/> (section <c>Geo</c>, validated on start: configured files must exist)
    /// and a singleton <see cref="IGeoLocator"/> whose databases are loaded at host start, not on the first request.
    /// </summary>
    public static IServiceCollection AddGeo(this IServiceCollection services)
    {
        services.AddOptions<GeoOptions>()
            .BindConfiguration(GeoOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => string.IsNullOrEmpty(o.CityDatabase) || File.Exists(o.CityDatabase), "Geo:CityDatabase names a file that does not exist.")
            .Validate(o => string.IsNullOrEmpty(o.AsnDatabase) || File.Exists(o.AsnDatabase), "Geo:AsnDatabase names a file that does not exist.")
            .Validate(
                o => !o.UseSampleDatabases || (string.IsNullOrEmpty(o.CityDatabase) && string.IsNullOrEmpty(o.AsnDatabase)),
                "Geo:UseSampleDatabases cannot be combined with Geo:CityDatabase or Geo:AsnDatabase; use one or the other.")
            .ValidateOnStart();
        services.AddSingleton<MaxMindGeoLocator>();
        services.AddSingleton<IGeoLocator>(sp => sp.GetRequiredService<MaxMindGeoLocator>());
        services.AddHostedService<GeoStartup>();
        return services;
    }

    /// <summary>Creating the locator opens the databases; doing it here keeps that cost off the first redirect.</summary>
    private sealed class GeoStartup(IGeoLocator locator) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(locator);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
