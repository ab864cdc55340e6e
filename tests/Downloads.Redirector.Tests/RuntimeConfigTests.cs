using System.Text.Json;

namespace Downloads.Redirector.Tests;

/// <summary>
/// The GC settings the redirector's memory figures depend on (bench/README.md, "Memory") ship in its
/// runtimeconfig, so every deployment gets them without environment variables.
/// </summary>
public sealed class RuntimeConfigTests
{
    private static JsonElement ConfigProperties()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Downloads.Redirector.runtimeconfig.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }

    [Fact]
    public void Workstation_gc_with_small_regions_and_compaction_under_fragmentation()
    {
        var properties = ConfigProperties();

        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.Equal(9, properties.GetProperty("System.GC.ConserveMemory").GetInt32());
        Assert.Equal(2 * 1024 * 1024, properties.GetProperty("System.GC.RegionSize").GetInt32());
    }
}
