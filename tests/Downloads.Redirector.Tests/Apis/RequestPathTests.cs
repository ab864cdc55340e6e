using Downloads.Redirector.Apis;

namespace Downloads.Redirector.Tests.Apis;

public class RequestPathTests
{
    [Theory]
    [InlineData("/noobs/NOOBS%20v4.zip", "/noobs/NOOBS v4.zip")]
    [InlineData("/os/raspios.img?mirrorlist&fromip=1.2.3.4", "/os/raspios.img")]
    [InlineData("/rachel/a..b.zip", "/rachel/a..b.zip")]
    public void Clean_paths_pass(string raw, string decoded) => Assert.Null(RequestPath.Problem(raw, decoded));

    [Theory]
    [InlineData("/noobs/../etc/passwd", "/etc/passwd")]
    [InlineData("/noobs/%2E%2e/etc/passwd", "/etc/passwd")]
    [InlineData("/noobs%2Fx", "/noobs%2Fx")]
    [InlineData("/noobs/%5c..%5cx", "/noobs/\\..\\x")]
    [InlineData("/noobs\\x", "/noobs\\x")]
    [InlineData("/./noobs/x", "/noobs/x")]
    [InlineData("/", "/")]
    [InlineData("/noobs//x", "/noobs//x")]
    [InlineData("/noobs/x\u0001", "/noobs/x\u0001")]
    public void Hostile_or_malformed_paths_have_a_reason(string raw, string decoded) =>
        Assert.False(string.IsNullOrEmpty(RequestPath.Problem(raw, decoded)));

    [Fact]
    public void Overlong_path_is_refused()
    {
        var path = "/noobs/" + new string('a', 5000);
        Assert.Equal("path too long", RequestPath.Problem(path, path));
    }
}
