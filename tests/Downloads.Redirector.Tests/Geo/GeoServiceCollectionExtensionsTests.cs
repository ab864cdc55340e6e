using System.Net;
using Downloads.GeoData;
using Downloads.Redirector.Geo;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Tests.Geo;

public sealed class GeoServiceCollectionExtensionsTests
{
    private static IHost Build(params string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddGeo();
        return builder.Build();
    }

    [Fact]
    public async Task The_host_starts_with_the_configured_databases_and_locates_clients()
    {
        using var dir = new TempDirectory("geo");
        var (city, asn) = SampleGeoDatabases.WriteAll(dir.Path);
        using var host = Build($"--Geo:CityDatabase={city}", $"--Geo:AsnDatabase={asn}");

        await host.StartAsync();
        var location = host.Services.GetRequiredService<IGeoLocator>().Locate(IPAddress.Parse("216.160.83.56"));
        await host.StopAsync();

        Assert.Equal(("US", "NA", 209L), (location.Country, location.Continent, location.Asn));
    }

    [Fact]
    public async Task Sample_databases_can_be_asked_for_instead_of_files()
    {
        using var host = Build("--Geo:UseSampleDatabases=true");

        await host.StartAsync();
        var location = host.Services.GetRequiredService<IGeoLocator>().Locate(IPAddress.Parse("81.2.69.142"));
        await host.StopAsync();

        Assert.Equal(("GB", 20712L), (location.Country, location.Asn));
    }

    [Fact]
    public async Task Sample_databases_and_database_files_cannot_be_combined()
    {
        using var dir = new TempDirectory("geo");
        var (city, _) = SampleGeoDatabases.WriteAll(dir.Path);
        using var host = Build("--Geo:UseSampleDatabases=true", $"--Geo:CityDatabase={city}");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("UseSampleDatabases", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_file_stops_the_start_with_a_reason()
    {
        using var dir = new TempDirectory("geo");
        using var host = Build($"--Geo:CityDatabase={dir.Combine("nope.mmdb")}");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Geo:CityDatabase", error.Message, StringComparison.Ordinal);
    }
}
