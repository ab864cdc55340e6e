using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Downloads.Contracts.Hosting;

/// <summary>Whether a request carries the Prometheus scrape token (<see cref="MetricsOptions.ScrapeToken"/>): one check for every place that asks.</summary>
public static class ScrapeAuthorization
{
    /// <summary><c>Authorization: Bearer TOKEN</c> with the expected (non-empty) token, compared in constant time.</summary>
    public static bool Matches(HttpRequest request, byte[] expected) =>
        expected.Length > 0 && Matches(request.Headers.Authorization.ToString(), expected);

    /// <summary><c>Bearer TOKEN</c> with the expected token, compared in constant time.</summary>
    public static bool Matches(string header, byte[] expected) =>
        header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header.AsSpan(7).Trim().ToString()), expected);
}
