using Downloads.Contracts.Manifests;

namespace Downloads.Redirector.Health;

/// <summary>The current verified manifest, as the redirector holds it in memory; null before the first one.</summary>
public interface IManifestSource
{
    /// <summary>The manifest health probes check mirrors against.</summary>
    Manifest? Current { get; }
}
