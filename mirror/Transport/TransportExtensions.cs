using Downloads.Mirror.Reporting;

namespace Downloads.Mirror.Transport;

/// <summary>Registration of the mirror's client connection handling.</summary>
public static class TransportExtensions
{
    /// <summary>Puts <see cref="ClientConnections"/> under every Kestrel endpoint (needs <see cref="TrafficCounters"/>).</summary>
    public static WebApplicationBuilder AddMirrorTransport(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var counters = kestrel.ApplicationServices.GetRequiredService<TrafficCounters>();
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => ClientConnections.Wrap(next, counters)));
        });
        return builder;
    }
}
