using System.Net;
using Downloads.GeoData;
using Downloads.Testing;
using MaxMind.Db;

namespace Downloads.GeoData.Tests;

public sealed class MmdbWriterTests
{
    private static Reader Read(MmdbWriter writer)
    {
        var stream = new MemoryStream();
        writer.Write(stream);
        stream.Position = 0;
        return new Reader(stream);
    }

    [Theory]
    [InlineData(24)]
    [InlineData(28)]
    [InlineData(32)]
    public void Every_record_size_reads_back(int recordSize)
    {
        var writer = new MmdbWriter("Test") { RecordSize = recordSize };
        writer.Insert(IPNetwork.Parse("81.2.69.0/24"), new Dictionary<string, object> { ["n"] = 1u });
        writer.Insert(IPNetwork.Parse("2001:218::/32"), new Dictionary<string, object> { ["n"] = 2u });
        using var reader = Read(writer);

        Assert.Equal(1L, reader.Find<Dictionary<string, object>>(IPAddress.Parse("81.2.69.1"))!["n"]);
        Assert.Equal(2L, reader.Find<Dictionary<string, object>>(IPAddress.Parse("2001:218:1::1"))!["n"]);
        Assert.Null(reader.Find<Dictionary<string, object>>(IPAddress.Parse("81.2.68.255")));
    }

    [Fact]
    public void Record_size_sets_the_node_layout()
    {
        long Length(int size)
        {
            var writer = new MmdbWriter("Test") { RecordSize = size };
            writer.Insert(IPNetwork.Parse("81.2.69.0/24"), "x");
            using var stream = new MemoryStream();
            writer.Write(stream);
            return stream.Length;
        }

        // 6, 7 and 8 bytes a node: the same tree grows by node_count bytes per step.
        var nodes = Length(28) - Length(24);
        Assert.True(nodes > 120, $"{nodes} nodes");
        Assert.Equal(nodes, Length(32) - Length(28));
        Assert.Throws<InvalidOperationException>(() => Length(26));
    }

    [Fact]
    public void Every_value_type_round_trips()
    {
        var longText = new string('x', 70_000);
        var writer = new MmdbWriter("Test");
        writer.Insert(IPNetwork.Parse("192.0.2.0/24"), new Dictionary<string, object>
        {
            ["string"] = "Linköping",
            ["empty"] = "",
            ["medium"] = new string('m', 300),
            ["long"] = longText,
            ["double"] = -122.3149,
            ["float"] = 1.5f,
            ["u16"] = (ushort)65535,
            ["u32"] = 4_000_000_000u,
            ["u64"] = ulong.MaxValue,
            ["zero"] = 0u,
            ["i32"] = -5,
            ["true"] = true,
            ["false"] = false,
            ["bytes"] = new byte[] { 1, 2, 3 },
            ["array"] = new object[] { "a", 1u, new Dictionary<string, object> { ["k"] = "v" } },
        });
        using var reader = Read(writer);

        var d = reader.Find<Dictionary<string, object>>(IPAddress.Parse("192.0.2.9"))!;
        Assert.Equal("Linköping", d["string"]);
        Assert.Equal("", d["empty"]);
        Assert.Equal(300, ((string)d["medium"]).Length);
        Assert.Equal(longText, d["long"]);
        Assert.Equal(-122.3149, d["double"]);
        Assert.Equal(1.5f, d["float"]);
        Assert.Equal(65535, Convert.ToInt32(d["u16"]));
        Assert.Equal(4_000_000_000L, Convert.ToInt64(d["u32"]));
        Assert.Equal(ulong.MaxValue, Convert.ToUInt64(d["u64"]));
        Assert.Equal(0L, Convert.ToInt64(d["zero"]));
        Assert.Equal(-5, Convert.ToInt32(d["i32"]));
        Assert.Equal(true, d["true"]);
        Assert.Equal(false, d["false"]);
        Assert.Equal(new byte[] { 1, 2, 3 }, d["bytes"]);
        var array = Assert.IsType<List<object>>(d["array"]);
        Assert.Equal("a", array[0]);
        Assert.Equal("v", ((Dictionary<string, object>)array[2])["k"]);
    }

    [Fact]
    public void Identical_records_are_stored_once_and_prefix_lengths_are_reported()
    {
        var writer = new MmdbWriter("Test");
        writer.Insert(IPNetwork.Parse("10.0.0.0/8"), new Dictionary<string, object> { ["c"] = "A" });
        writer.Insert(IPNetwork.Parse("11.0.0.0/16"), new Dictionary<string, object> { ["c"] = "A" });
        writer.Insert(IPNetwork.Parse("12.0.0.0/31"), new Dictionary<string, object> { ["c"] = "B" });
        using var reader = Read(writer);

        Assert.Equal(2, writer.RecordCount);
        reader.Find<Dictionary<string, object>>(IPAddress.Parse("10.9.9.9"), out var p8);
        reader.Find<Dictionary<string, object>>(IPAddress.Parse("11.0.200.1"), out var p16);
        var b = reader.Find<Dictionary<string, object>>(IPAddress.Parse("12.0.0.1"), out var p31);
        Assert.Equal([8, 16, 31], new[] { p8, p16, p31 });
        Assert.Equal("B", b!["c"]);
    }

    [Fact]
    public void A_later_more_specific_network_splits_an_earlier_one_and_a_later_broad_one_replaces_it()
    {
        var writer = new MmdbWriter("Test");
        writer.Insert(IPNetwork.Parse("81.2.0.0/16"), "country");
        writer.Insert(IPNetwork.Parse("81.2.69.0/24"), "city");
        writer.Insert(IPNetwork.Parse("2001:db8:1::/48"), "old");
        writer.Insert(IPNetwork.Parse("2001:db8::/32"), "new");
        using var reader = Read(writer);

        Assert.Equal("city", reader.Find<string>(IPAddress.Parse("81.2.69.1")));
        Assert.Equal("country", reader.Find<string>(IPAddress.Parse("81.2.68.1"), out var p));
        Assert.Equal(24, p); // the /16 is now split around the /24
        Assert.Equal("country", reader.Find<string>(IPAddress.Parse("81.2.255.255")));
        Assert.Equal("new", reader.Find<string>(IPAddress.Parse("2001:db8:1::1")));
    }

    [Fact]
    public void An_empty_database_is_valid_and_finds_nothing()
    {
        using var reader = Read(new MmdbWriter("Empty"));

        Assert.Null(reader.Find<string>(IPAddress.Parse("81.2.69.142")));
        Assert.Null(reader.Find<string>(IPAddress.Parse("2001:218::1")));
    }

    [Fact]
    public void Unsupported_values_are_rejected_with_a_reason()
    {
        var writer = new MmdbWriter("Test");

        var error = Assert.Throws<ArgumentException>(() => writer.Insert(IPNetwork.Parse("81.2.69.0/24"), DateTime.UnixEpoch));
        Assert.Contains("DateTime", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteFile_replaces_an_existing_file_whole()
    {
        using var dir = new TempDirectory("geo");
        var path = dir.Combine("x.mmdb");
        File.WriteAllText(path, "not a database");
        var writer = new MmdbWriter("Test");
        writer.Insert(IPNetwork.Parse("81.2.69.0/24"), "london");

        writer.WriteFile(path);

        using var reader = new Reader(path);
        Assert.Equal("london", reader.Find<string>(IPAddress.Parse("81.2.69.142")));
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}
