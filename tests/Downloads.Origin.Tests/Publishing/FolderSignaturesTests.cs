using System.Security.Cryptography;
using Downloads.Contracts.Checksums;
using Downloads.Contracts.Manifests;
using Downloads.Origin.Publishing;
using Downloads.Origin.Sample;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Origin.Tests.Publishing;

/// <summary>Publishing signs each folder's generated SHA256SUMS into the manifest, over the bytes of the published files.</summary>
public class FolderSignaturesTests
{
    [Fact]
    public async Task Published_manifest_signs_each_folders_checksum_list_of_the_files_on_disk()
    {
        using var dir = new TempDirectory("pub");
        var (priv, pub) = ManifestSigner.GenerateKeyPair();
        var options = new OriginOptions { Root = dir.Combine("root"), StateDir = dir.Combine("state"), PrivateKey = priv, ChunkSize = 16 * 1024 };
        await SampleTree.GenerateAsync(options.Root, SampleScale.Tiny);
        // A folder that ships its own list keeps it: no generated one is signed for it.
        Directory.CreateDirectory(Path.Combine(options.Root, "rachel", "own"));
        await File.WriteAllTextAsync(Path.Combine(options.Root, "rachel", "own", "x.zip"), "x");
        await File.WriteAllTextAsync(Path.Combine(options.Root, "rachel", "own", "SHA256SUMS"), "hand-made\n");

        var result = await new Publisher(options, TimeProvider.System, NullLogger.Instance).PublishAsync();

        var folder = new StateFolder(options.StateDir);
        var manifest = folder.Load(folder.ReadCurrentSerial(), out _)!.Manifest;
        var folders = manifest.Folders!;
        Assert.Equal(["noobs", "os", "rachel"], folders.Select(f => f.Path));
        foreach (var signed in folders)
        {
            // The list built from the files' own bytes on disk, not from the manifest: what a user's sha256sum sees.
            var entries = new List<(string Path, byte[] Sha256)>();
            foreach (var path in Directory.EnumerateFiles(Path.Combine(options.Root, signed.Path)))
                entries.Add(($"{signed.Path}/{Path.GetFileName(path)}", SHA256.HashData(await File.ReadAllBytesAsync(path))));
            var file = FolderSignatures.SignatureFile(signed.Path, FolderSignatures.Decode(signed.SumsSignature)!, pub, result.Serial, manifest.Published)!;
            Assert.True(Minisign.Verify(Sha256Sums.Build(entries), file, pub), signed.Path);
        }
    }

    [Fact]
    public async Task Keygen_also_writes_the_key_in_minisigns_form()
    {
        using var dir = new TempDirectory("keygen");
        var output = new StringWriter();
        Assert.Equal(0, await OriginCommands.RunAsync(["keygen", "--out", dir.Combine("key")], output));
        var publicKey = output.ToString().Trim();
        Assert.Equal(Minisign.PublicKeyFile(publicKey), await File.ReadAllTextAsync(dir.Combine("key.minisign.pub")));
    }
}
