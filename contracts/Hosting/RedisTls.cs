using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace Downloads.Contracts.Hosting;

/// <summary>
/// TLS to Redis with a private CA. Redis nodes sit on the open internet for donated mirrors, so their
/// certificates come from our own CA (Ansible makes it): a certificate a public CA issued for the same
/// name must not be enough, and nothing is ever accepted unchecked.
/// </summary>
public static class RedisTls
{
    /// <summary>
    /// Parses <see cref="RedisOptions.Configuration"/> and, with <see cref="RedisOptions.CaCertificate"/>
    /// set, turns TLS on and trusts only that CA. Every Redis connection a service makes starts here.
    /// </summary>
    public static ConfigurationOptions Configure(RedisOptions options)
    {
        var config = ConfigurationOptions.Parse(options.Configuration);
        if (!string.IsNullOrWhiteSpace(options.CaCertificate))
            TrustOnly(config, LoadCa(options.CaCertificate));
        return config;
    }

    /// <summary>Turns TLS on in <paramref name="config"/> and trusts only <paramref name="roots"/>.</summary>
    public static void TrustOnly(ConfigurationOptions config, X509Certificate2Collection roots)
    {
        config.Ssl = true;
        config.CertificateValidation += (_, certificate, chain, errors) => IsTrusted(certificate, chain, errors, roots);
    }

    /// <summary>Reads every certificate of a PEM file (two during a CA rotation).</summary>
    public static X509Certificate2Collection LoadCa(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
            throw new InvalidDataException($"Redis:CaCertificate {path} holds no PEM certificate");
        return roots;
    }

    /// <summary>
    /// Whether the server's certificate names the host (the TLS layer's own check) and chains to one of
    /// <paramref name="roots"/>, with the system's trust store left out.
    /// </summary>
    public static bool IsTrusted(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // A private CA publishes no revocation list; rotation replaces certificates instead.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            // Intermediates the server sent along.
            foreach (var element in presented.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            return chain.Build(leaf);
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
                leaf.Dispose();
        }
    }
}
