using Downloads.Contracts.Identity;
using Downloads.Origin.Limits;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Downloads.Origin.Tests.Limits;

/// <summary>
/// The per-client limiter keys clients by <c>AddressKey</c>; a client without an address has key 0. Mirrors' requests
/// (no per-client limit) must never share a partition with such clients, whichever arrives first: the limiter keeps
/// the first partition made for a key.
/// </summary>
public class AdmissionPartitionTests
{
    private static OriginAdmission Admission() => new(
        Options.Create(new OriginLimitsOptions { MaxRequests = 512, ReservedForMirrors = 128, PerClient = 8 }),
        new MirrorKeyDirectory(null!, TimeProvider.System, NullLogger<MirrorKeyDirectory>.Instance), new NonceCache(16),
        new OriginPacer(Options.Create(new OriginLimitsOptions()), TimeProvider.System), TimeProvider.System, Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), NullLogger<OriginAdmission>.Instance);

    [Fact]
    public void A_client_without_an_address_first_does_not_cap_the_mirrors_at_its_limit()
    {
        var admission = Admission();
        var permits = new List<IDisposable>();
        Assert.Equal(OriginAdmission.Outcome.Served, Keep(admission.Admit(new OriginAdmission.Request(null, UInt128.Zero)), permits));
        for (var i = 0; i < 20; i++)
            Assert.Equal(OriginAdmission.Outcome.Served, Keep(admission.Admit(new OriginAdmission.Request($"m{i}", UInt128.Zero)), permits));
        permits.ForEach(p => p.Dispose());
    }

    [Fact]
    public void Mirrors_first_do_not_lift_the_limit_of_clients_without_an_address()
    {
        var admission = Admission();
        var permits = new List<IDisposable>();
        Assert.Equal(OriginAdmission.Outcome.Served, Keep(admission.Admit(new OriginAdmission.Request("m", UInt128.Zero)), permits));
        var outcomes = Enumerable.Range(0, 9).Select(_ => Keep(admission.Admit(new OriginAdmission.Request(null, UInt128.Zero)), permits)).ToList();
        Assert.Equal(8, outcomes.Count(o => o == OriginAdmission.Outcome.Served));
        Assert.Equal(OriginAdmission.Outcome.PerClient, outcomes[^1]);
        permits.ForEach(p => p.Dispose());
    }

    private static OriginAdmission.Outcome Keep((OriginAdmission.Outcome Outcome, OriginAdmission.Permit? Permit) admitted, List<IDisposable> permits)
    {
        if (admitted.Permit is { } permit)
            permits.Add(permit);
        return admitted.Outcome;
    }
}
