using Downloads.Contracts.Mirrors;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Selection;

namespace Downloads.Redirector.Snapshots;

/// <summary>One mirror as the request path sees it: the record plus everything precomputed from it.</summary>
internal sealed class MirrorEntry
{
    public required MirrorRecord Record { get; init; }

    /// <summary>Why the mirror takes no traffic at all right now, whatever the file (or <see cref="Exclusion.None"/>).</summary>
    public Exclusion StandingExclusion { get; init; }

    /// <summary>Spare bandwidth, bytes/s: capacity minus the reported rate.</summary>
    public double SpareBps { get; init; }

    /// <summary>Lottery weight among the near candidates: spare bandwidth scaled by ops' weight.</summary>
    public double LotteryWeight { get; init; }

    /// <summary>Lower-case country code for <c>geo=</c> in Link headers.</summary>
    public string CountryLower { get; init; } = "";

    public required Counter Redirects { get; init; }

    public string BaseUrl(bool https) => https ? Record.HttpsUrl : Record.HttpUrl;
}
