namespace Downloads.Redirector.Health;

/// <summary>What one probe of one mirror found.</summary>
/// <param name="Ok">HEAD and the ranged GET both matched the manifest.</param>
/// <param name="Reason">One line saying what was wrong; empty when ok.</param>
/// <param name="Probe">What was fetched (URL and range), for ops.</param>
/// <param name="LatencyMs">How long the probe took.</param>
public sealed record ProbeResult(bool Ok, string Reason, string Probe, double LatencyMs);

/// <summary>The health check's decision about one mirror in one round.</summary>
/// <param name="Id">Mirror id.</param>
/// <param name="Result">The probe.</param>
/// <param name="Healthy">Whether the mirror may receive traffic now.</param>
/// <param name="GoodRounds">Consecutive good rounds.</param>
/// <param name="Changed">Whether <paramref name="Healthy"/> flipped this round.</param>
public sealed record HealthVerdict(string Id, ProbeResult Result, bool Healthy, int GoodRounds, bool Changed)
{
    /// <summary>
    /// Hysteresis: one bad probe excludes at once; readmission needs <paramref name="goodRoundsToReadmit"/>
    /// good rounds in a row, so a flapping mirror does not flap the traffic with it.
    /// </summary>
    public static HealthVerdict Judge(string id, ProbeResult result, bool wasHealthy, int previousGoodRounds, int goodRoundsToReadmit)
    {
        if (!result.Ok)
            return new(id, result, false, 0, wasHealthy);
        var good = previousGoodRounds + 1;
        var healthy = wasHealthy || good >= goodRoundsToReadmit;
        return new(id, result, healthy, good, healthy != wasHealthy);
    }
}
