using Downloads.Contracts.Mirrors;
using static Downloads.Contracts.Redis.Keyspace;

namespace Downloads.Contracts.Tests.Mirrors;

/// <summary>The one check of what a mirror says about itself, fed hostile values.</summary>
public sealed class MirrorInfoValidationTests
{
    private static Dictionary<string, string> Good() => new()
    {
        [InfoFields.Name] = "Linköping University",
        [InfoFields.HttpUrl] = "http://mirror.example.org/pub/",
        [InfoFields.Country] = "se",
        [InfoFields.Continent] = "eu",
        [InfoFields.Latitude] = "58.41",
        [InfoFields.Longitude] = "15.62",
        [InfoFields.Asn] = "2843",
        [InfoFields.Sets] = "noobs, os",
        [InfoFields.Scope] = "Country",
        [InfoFields.CapacityMbps] = "1000",
        ["extra"] = "dropped",
    };

    [Fact]
    public void Good_info_is_normalized_and_unknown_fields_dropped()
    {
        Assert.Null(MirrorInfoValidation.Normalize(Good(), out var n));
        Assert.Equal("http://mirror.example.org/pub", n[InfoFields.HttpUrl]);
        Assert.Equal(("SE", "EU", "noobs,os", "country"), (n[InfoFields.Country], n[InfoFields.Continent], n[InfoFields.Sets], n[InfoFields.Scope]));
        Assert.False(n.ContainsKey("extra"));
    }

    [Fact]
    public void An_international_host_is_punycoded_and_a_non_ascii_path_percent_encoded()
    {
        Assert.True(MirrorInfoValidation.TryNormalizeUrl("https://bücher.example/ö/", "https", out var url));
        Assert.Equal("https://xn--bcher-kva.example/%C3%B6", url);
    }

    [Theory]
    [InlineData(InfoFields.HttpUrl, "javascript:alert(1)")]
    [InlineData(InfoFields.HttpUrl, "https://tls.example")] // wrong scheme for the field
    [InlineData(InfoFields.HttpsUrl, "data:text/html,<script>alert(1)</script>")]
    [InlineData(InfoFields.HttpUrl, "http://user:pw@mirror.example")]
    [InlineData(InfoFields.HttpUrl, "http://mirror.example/#frag")]
    [InlineData(InfoFields.HttpUrl, "http://mirror.example/?q=1")]
    [InlineData(InfoFields.HttpUrl, "/relative/path")]
    [InlineData(InfoFields.Country, "ÖS")]
    [InlineData(InfoFields.Country, "GBR")]
    [InlineData(InfoFields.Country, "G1")]
    [InlineData(InfoFields.Continent, "XX")]
    [InlineData(InfoFields.Continent, "Europe")]
    [InlineData(InfoFields.Latitude, "90.5")]
    [InlineData(InfoFields.Longitude, "NaN")]
    [InlineData(InfoFields.Longitude, "1e999")]
    [InlineData(InfoFields.Asn, "-1")]
    [InlineData(InfoFields.Asn, "4294967296")]
    [InlineData(InfoFields.Sets, "../etc")]
    [InlineData(InfoFields.Sets, "noobs,ös")]
    [InlineData(InfoFields.Scope, "galaxy")]
    [InlineData(InfoFields.Name, "line\nbreak")]
    public void A_bad_value_is_refused_with_one_line_naming_the_field(string field, string value)
    {
        var info = Good();
        info[field] = value;
        var reason = MirrorInfoValidation.Normalize(info, out _);
        Assert.NotNull(reason);
        Assert.Contains(field, reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', reason);
    }

    [Fact]
    public void Lengths_are_capped()
    {
        var info = Good();
        info[InfoFields.HttpUrl] = "http://mirror.example/" + new string('a', MirrorInfoValidation.MaxUrlLength);
        Assert.NotNull(MirrorInfoValidation.Normalize(info, out _));
        info = Good();
        info[InfoFields.Name] = new string('n', MirrorInfoValidation.MaxNameLength + 1);
        Assert.NotNull(MirrorInfoValidation.Normalize(info, out _));
        info = Good();
        info[InfoFields.Sets] = string.Join(',', Enumerable.Range(0, MirrorInfoValidation.MaxSets + 1).Select(i => $"s{i}"));
        Assert.NotNull(MirrorInfoValidation.Normalize(info, out _));
    }

    [Fact]
    public void A_mirror_needs_a_url_and_both_coordinates_or_neither()
    {
        var info = Good();
        info.Remove(InfoFields.HttpUrl);
        Assert.Contains("URL", MirrorInfoValidation.Normalize(info, out _), StringComparison.Ordinal);
        info = Good();
        info.Remove(InfoFields.Longitude);
        Assert.Contains("lat and lon", MirrorInfoValidation.Normalize(info, out _), StringComparison.Ordinal);
    }
}
