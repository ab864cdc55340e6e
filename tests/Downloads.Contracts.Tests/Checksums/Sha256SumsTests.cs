using System.Security.Cryptography;
using System.Text;
using Downloads.Contracts.Checksums;
using Downloads.Testing;

namespace Downloads.Contracts.Tests.Checksums;

public class Sha256SumsTests
{
    [Fact]
    public void A_line_is_hex_two_spaces_the_name_and_a_newline()
    {
        var hash = SHA256.HashData("x"u8);
        var line = Encoding.UTF8.GetString(Sha256Sums.Line(hash, "Raspberry Pi OS é.img"));
        Assert.Equal($"{Convert.ToHexStringLower(hash)}  Raspberry Pi OS é.img\n", line);
    }

    [Fact]
    public void A_folder_list_is_sorted_by_ordinal_name_whatever_the_input_order()
    {
        byte[] a = SHA256.HashData("a"u8), b = SHA256.HashData("b"u8), c = SHA256.HashData("c"u8);
        var sums = Encoding.UTF8.GetString(Sha256Sums.Build([("os/b.img", b), ("os/B.img", c), ("os/a.img", [.. a, .. b])]));
        Assert.Equal(
            $"{Convert.ToHexStringLower(c)}  B.img\n{Convert.ToHexStringLower(a)}  a.img\n{Convert.ToHexStringLower(b)}  b.img\n", sums);
    }

    [Fact]
    public void Folders_hold_only_their_own_files_and_a_real_SHA256SUMS_wins()
    {
        string[] paths = ["os/a.img", "os/lite/b.img", "os/c.img", "rachel/SHA256SUMS", "rachel/d.zip", "noobs/SHA256SUMS.minisig"];
        var folders = Sha256Sums.Folders(paths, p => p);
        Assert.Equal(["noobs", "os", "os/lite"], folders.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["os/a.img", "os/c.img"], folders["os"]);
        Assert.Equal(["os/lite/b.img"], folders["os/lite"]);
    }

    [Fact]
    public async Task Real_sha256sum_checks_the_generated_files()
    {
        using var dir = new TempDirectory("sums");
        var files = new List<(string Path, byte[] Sha256)>();
        foreach (var name in new[] { "NOOBS v4.zip", "raspios lite (arm64).img", "élève #1.zip" })
        {
            var bytes = Encoding.UTF8.GetBytes($"content of {name}");
            await File.WriteAllBytesAsync(dir.Combine(name), bytes);
            files.Add(("noobs/" + name, SHA256.HashData(bytes)));
        }
        await File.WriteAllBytesAsync(dir.Combine(Sha256Sums.FolderFileName), Sha256Sums.Build(files));
        await File.WriteAllBytesAsync(dir.Combine("NOOBS v4.zip.sha256"), Sha256Sums.Line(files[0].Sha256, "NOOBS v4.zip"));

        var all = await ExternalTool.RunAsync("sha256sum", dir.Path, "--strict", "-c", Sha256Sums.FolderFileName);
        Assert.True(all.ExitCode == 0, all.Output);
        Assert.Equal(3, all.Output.Split('\n').Count(l => l.EndsWith(": OK", StringComparison.Ordinal)));
        var one = await ExternalTool.RunAsync("sha256sum", dir.Path, "--strict", "-c", "NOOBS v4.zip.sha256");
        Assert.True(one.ExitCode == 0, one.Output);

        // A changed byte fails the check: the tool reads the names and hashes as written.
        await File.WriteAllTextAsync(dir.Combine("élève #1.zip"), "changed");
        var bad = await ExternalTool.RunAsync("sha256sum", dir.Path, "--strict", "-c", Sha256Sums.FolderFileName);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("élève #1.zip: FAILED", bad.Output, StringComparison.Ordinal);
    }
}
