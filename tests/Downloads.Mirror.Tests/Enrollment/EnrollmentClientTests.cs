using Downloads.Mirror.Enrollment;
using Downloads.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Mirror.Tests.Enrollment;

public sealed class EnrollmentClientTests
{
    private static EnrollmentClient Client(string dataDir, string? token = null) =>
        new(new MirrorOptions { Id = "uk1", DataDir = dataDir, HttpUrl = "http://uk1.example.org" },
            new EnrollmentOptions { Token = token, Redirector = "http://127.0.0.1:9" }, NullLogger.Instance);

    [Fact]
    public void Saved_credentials_are_written_owner_only_and_used_for_the_connection()
    {
        using var dir = new TempDirectory();
        new SavedCredentials { Id = "uk1", User = "dl-m-uk1", Password = "pw" }.Save(dir.Path);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SavedCredentials.PathIn(dir.Path)));
        Assert.False(File.Exists(SavedCredentials.PathIn(dir.Path) + ".tmp"));

        // A token is ignored once credentials are saved (it was burnt by the first enrollment).
        var config = Client(dir.Path, token: "dlt_old").Resolve("127.0.0.1:6379,abortConnect=false");
        Assert.Contains("user=dl-m-uk1", config);
        Assert.Contains("password=pw", config);
    }

    [Fact]
    public void A_user_in_the_configuration_wins_and_skips_enrollment()
    {
        using var dir = new TempDirectory();
        // The token would fail (nothing listens on port 9) if enrollment were attempted.
        Assert.Equal("127.0.0.1:6379,user=ansible-uk1,password=x", Client(dir.Path, token: "dlt_x").Resolve("127.0.0.1:6379,user=ansible-uk1,password=x"));
        Assert.False(File.Exists(SavedCredentials.PathIn(dir.Path)));
    }

    [Fact]
    public void Without_token_or_credentials_the_configured_connection_is_kept_and_a_shared_user_too()
    {
        using var dir = new TempDirectory();
        Assert.Equal("127.0.0.1:6379", Client(dir.Path).Resolve("127.0.0.1:6379"));
        new SavedCredentials { Id = "uk1", SharedUser = true }.Save(dir.Path);
        Assert.Equal("127.0.0.1:6379", Client(dir.Path).Resolve("127.0.0.1:6379"));
    }

    [Fact]
    public void Credentials_of_another_mirror_stop_the_start_with_a_reason()
    {
        using var dir = new TempDirectory();
        new SavedCredentials { Id = "fr1", User = "dl-m-fr1", Password = "pw" }.Save(dir.Path);
        var e = Assert.Throws<InvalidOperationException>(() => Client(dir.Path).Resolve("127.0.0.1:6379"));
        Assert.Contains("fr1", e.Message);
    }

    [Theory]
    [InlineData("http://r.example.org", "http://r.example.org/-/api/enroll")]
    [InlineData("http://r.example.org/", "http://r.example.org/-/api/enroll")]
    [InlineData("http://r.example.org/-/api/enroll", "http://r.example.org/-/api/enroll")]
    public void The_enroll_URL_is_derived_from_the_redirector_base(string configured, string expected) =>
        Assert.Equal(expected, EnrollmentClient.EnrollUrl(configured).ToString());
}
