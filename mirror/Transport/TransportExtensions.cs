using Downloads.Mirror.Limits;
using Downloads.Mirror.Reporting;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Transport;

/// <summary>Registration of the mirror's client connection handling.</summary>
public static class TransportExtensions
{
    /// <summary>Puts <see cref="ClientConnections"/> under every Kestrel endpoint (needs <see cref="TrafficCounters"/>, and the per-address table of <see cref="LimitsExtensions.AddConnectionLimit"/>).</summary>
    public static WebApplicationBuilder AddMirrorTransport(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var services = kestrel.ApplicationServices;
            var counters = services.GetRequiredService<TrafficCounters>();
            var addresses = services.GetService<IOptions<LimitsOptions>>()?.Value.MaxConnectionsPerAddress > 0
                ? services.GetRequiredService<AddressConnections>()
                : null;
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => ClientConnections.Wrap(next, counters, addresses)));
        });
        return builder;
    }
}
