using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;

namespace Downloads.EndToEnd.Tests.Release;

/// <summary>
/// Every mirror archive release.sh built (those SHA256SUMS lists: under test.sh linux-x64 and linux-arm64,
/// alone linux-x64) is well formed without running it: the binary and libsodium are ELF files for the
/// archive's architecture, and the unit, example configuration and installer are there.
/// </summary>
public sealed class ReleaseArchiveTests
{
    // ELF e_machine values (System V ABI): what each RID must carry.
    private static readonly Dictionary<string, (ushort Machine, byte Class)> Expected = new()
    {
        ["linux-x64"] = (62, 2),    // EM_X86_64, 64-bit
        ["linux-arm64"] = (183, 2), // EM_AARCH64, 64-bit
        ["linux-arm"] = (40, 1),    // EM_ARM, 32-bit
    };

    [Fact]
    public async Task Each_mirror_archive_holds_a_binary_for_its_architecture_the_unit_the_example_configuration_and_the_installer()
    {
        var release = await DonorRelease.FolderAsync();
        var listed = File.ReadAllLines(Path.Combine(release, "SHA256SUMS")).Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 2)..]).ToList();
        var mirrors = listed.Where(n => n.StartsWith("downloads-mirror-", StringComparison.Ordinal)).ToList();
        Assert.Contains("downloads-mirror-linux-x64.tar.gz", mirrors);
        Assert.Contains("downloads-origin.tar.gz", listed);
        Assert.Contains("downloads-redirector.tar.gz", listed);

        string? firstUnit = null;
        foreach (var name in mirrors)
        {
            var rid = name["downloads-mirror-".Length..^".tar.gz".Length];
            Assert.True(Expected.ContainsKey(rid), $"unexpected archive {name}");
            var entries = await ReadAsync(Path.Combine(release, name), $"downloads-mirror-{rid}/");
            foreach (var binary in new[] { "Downloads.Mirror", "libsodium.so" })
            {
                Assert.True(entries.TryGetValue(binary, out var entry), $"{name} has no {binary}");
                var (machine, elfClass) = Elf(entry.Head);
                Assert.True((machine, elfClass) == Expected[rid], $"{name}: {binary} is ELF machine {machine} class {elfClass}, want {Expected[rid]}");
            }
            Assert.True(entries["Downloads.Mirror"].Mode.HasFlag(UnixFileMode.UserExecute), $"{name}: Downloads.Mirror is not executable");
            Assert.True(entries["install.sh"].Mode.HasFlag(UnixFileMode.UserExecute), $"{name}: install.sh is not executable");
            var unit = entries["downloads-mirror.service"].Text;
            Assert.Contains("ExecStart=/opt/downloads-mirror/Downloads.Mirror", unit);
            Assert.Contains("EnvironmentFile=/etc/downloads-mirror/mirror.env", unit);
            Assert.Contains("NoNewPrivileges=true", unit);
            // One unit for every architecture: rendered from the one template with the same values.
            firstUnit ??= unit;
            Assert.Equal(firstUnit, unit);
            Assert.Contains("Enrollment__Token=", entries["mirror.env.example"].Text);
            Assert.EndsWith($" {rid}\n", entries["VERSION"].Text);
        }
    }

    private sealed record Entry(byte[] Head, UnixFileMode Mode, string Text);

    /// <summary>Name (under <paramref name="top"/>) → the first bytes, mode and (small files) text of each file.</summary>
    private static async Task<Dictionary<string, Entry>> ReadAsync(string archive, string top)
    {
        var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
        await using var file = File.OpenRead(archive);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        while (await tar.GetNextEntryAsync() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                continue;
            var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
            Assert.StartsWith(top, name);
            var head = new byte[Math.Min(64, entry.Length)];
            await entry.DataStream.ReadExactlyAsync(head);
            var text = "";
            if (entry.Length < 64 * 1024)
            {
                using var rest = new MemoryStream();
                await entry.DataStream.CopyToAsync(rest);
                text = System.Text.Encoding.UTF8.GetString([.. head, .. rest.ToArray()]);
            }
            result[name[top.Length..]] = new Entry(head, entry.Mode, text);
        }
        return result;
    }

    private static (ushort Machine, byte Class) Elf(byte[] head)
    {
        Assert.True(head.Length >= 20 && head[0] == 0x7f && head[1] == (byte)'E' && head[2] == (byte)'L' && head[3] == (byte)'F', "not an ELF file");
        Assert.Equal(1, head[5]); // little-endian, as every supported RID
        return (BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(18, 2)), head[4]);
    }
}
