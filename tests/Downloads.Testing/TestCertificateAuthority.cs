using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Downloads.Testing;

/// <summary>
/// A private CA made in memory for one test (ECDSA P-256, valid for a day), as Ansible's is made for a
/// network: it issues server certificates and writes everything as the PEM files redis-server reads.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    /// <summary>Creates a CA named <paramref name="name"/>.</summary>
    public TestCertificateAuthority(string name)
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>The CA certificate (with its key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Writes the CA certificate (no key) as PEM; returns the path.</summary>
    public string WriteCertificate(string path)
    {
        File.WriteAllText(path, Certificate.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>
    /// Issues a TLS server certificate for <paramref name="dnsNames"/> and <paramref name="addresses"/> and
    /// writes it and its key as PEM (<c>{prefix}.crt</c>, <c>{prefix}.key</c>); returns both paths.
    /// </summary>
    public (string Certificate, string Key) IssueServer(string prefix, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + dnsNames.Concat(addresses.Select(a => a.ToString())).First(), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
            names.AddDnsName(dns);
        foreach (var address in addresses)
            names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        // Server and client: Sentinel and replicas also use their certificate when they connect out.
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        // Never past the authority's own end (a second later was refused once, when the clock ticked between the two).
        using var issued = request.Create(Certificate, DateTimeOffset.UtcNow.AddMinutes(-5), new DateTimeOffset(Certificate.NotAfter).AddMinutes(-1), serial);
        var certPath = prefix + ".crt";
        var keyPath = prefix + ".key";
        File.WriteAllText(certPath, issued.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certPath, keyPath);
    }

    /// <summary>A certificate for 127.0.0.1 and localhost, the names tests connect to.</summary>
    public (string Certificate, string Key) IssueLoopback(string prefix) =>
        IssueServer(prefix, ["localhost"], [IPAddress.Loopback]);

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
