using System.CommandLine;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;

namespace Downloads.Origin.Publishing;

/// <summary>
/// <c>origin keygen --out FILE [--force]</c>: writes the private seed to FILE (mode 600), the public key to FILE.pub and
/// in minisign's form to FILE.minisign.pub, and prints the public key.
/// </summary>
public static class KeygenCommand
{
    /// <summary>The verb.</summary>
    public const string Name = "keygen";

    /// <summary>Builds the command.</summary>
    public static Command Create(TextWriter output)
    {
        var file = new Option<string>("--out") { Description = "Where to write the base64 private key", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing key file" };
        var command = new Command(Name, "Creates an Ed25519 key pair for signing manifests.") { file, force };
        command.SetAction(async (parse, ct) =>
        {
            var path = Path.GetFullPath(parse.GetValue(file)!);
            if (File.Exists(path) && !parse.GetValue(force))
                throw new IOException($"{path} exists; pass --force to replace the signing key (every mirror must then pin the new public key)");
            var (priv, pub) = ManifestSigner.GenerateKeyPair();
            // Created 0600: the key is never readable by others, not even for a moment.
            await AtomicFile.WriteAllBytesAsync(path, System.Text.Encoding.ASCII.GetBytes(priv + "\n"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite, ct);
            await File.WriteAllTextAsync(path + ".pub", pub + "\n", ct);
            // The same key in minisign's form, for users who verify the redirector's SHA256SUMS.minisig (docs/checksums.md).
            await File.WriteAllTextAsync(path + ".minisign.pub", Minisign.PublicKeyFile(pub), ct);
            await output.WriteLineAsync(pub);
            return 0;
        });
        return command;
    }
}
