namespace Downloads.Testing;

/// <summary>
/// The redirector's command line for the tests' rigs and the launch-day simulator, written once: where Redis,
/// the origin, its key and the geo files are, and the fast refresh and flush rounds a test wants. Anything
/// else a test needs goes in <see cref="Build"/>'s <c>extra</c>, last, so it wins over these.
/// </summary>
public sealed record RedirectorArgs
{
    /// <summary><c>--urls</c>; null when the host adds it itself.</summary>
    public string? Url { get; init; }

    /// <summary><c>Redis:Configuration</c>.</summary>
    public required string Redis { get; init; }

    /// <summary><c>Redirector:Origin</c>: manifest source and last resort; null for none.</summary>
    public string? Origin { get; init; }

    /// <summary><c>Redirector:PublicKey</c>: the manifest signing key's public half.</summary>
    public required string PublicKey { get; init; }

    /// <summary><c>Geo:CityDatabase</c>.</summary>
    public required string CityDatabase { get; init; }

    /// <summary><c>Geo:AsnDatabase</c>.</summary>
    public required string AsnDatabase { get; init; }

    /// <summary><c>Redirector:MirrorRefreshSeconds</c>: fast, so a test sees Redis changes at once.</summary>
    public double MirrorRefreshSeconds { get; init; } = 0.2;

    /// <summary><c>Redirector:CounterFlushSeconds</c>.</summary>
    public double CounterFlushSeconds { get; init; } = 0.2;

    /// <summary>Active health probes; off where the mirrors are names, not servers.</summary>
    public bool HealthChecks { get; init; } = true;

    /// <summary><c>Health:AllowedNetworks</c> when probes are on: loopback, where the tests' mirrors are.</summary>
    public const string ProbeAllowedNetworks = "127.0.0.0/8,::1";

    /// <summary><c>Logging:LogLevel:Default</c>; null keeps the levels the redirector ships with.</summary>
    public string? LogLevel { get; init; } = "Warning";

    /// <summary>The arguments, then <paramref name="extra"/>.</summary>
    public string[] Build(params string[] extra)
    {
        var args = new List<string>();
        if (Url is not null)
            args.Add($"--urls={Url}");
        args.Add($"--Redis:Configuration={Redis}");
        if (Origin is not null)
            args.Add($"--Redirector:Origin={Origin}");
        args.Add($"--Redirector:PublicKey={PublicKey}");
        args.Add(FormattableString.Invariant($"--Redirector:MirrorRefreshSeconds={MirrorRefreshSeconds}"));
        args.Add(FormattableString.Invariant($"--Redirector:CounterFlushSeconds={CounterFlushSeconds}"));
        if (!HealthChecks)
            args.Add("--Health:Enabled=false");
        else
            args.Add($"--Health:AllowedNetworks={ProbeAllowedNetworks}"); // the tests' mirrors listen on loopback
        if (LogLevel is not null)
            args.Add($"--Logging:LogLevel:Default={LogLevel}");
        args.Add($"--Geo:CityDatabase={CityDatabase}");
        args.Add($"--Geo:AsnDatabase={AsnDatabase}");
        args.AddRange(extra);
        return [.. args];
    }
}
