using Downloads.Contracts.Mirrors;
using Downloads.Mirror.Enrollment;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Downloads.Mirror.Tests.Enrollment;

public sealed class EnrollmentClientTests
{
    private static EnrollmentClient Client(string dataDir, string? token = null, string redirector = "http://127.0.0.1:9") =>
        new(new MirrorOptions { Id = "uk1", DataDir = dataDir, HttpUrl = "http://uk1.example.org" },
            new EnrollmentOptions { Token = token, Redirector = redirector }, NullLogger.Instance);

    [Fact]
    public async Task Saved_credentials_are_written_owner_only_and_used_for_the_connection()
    {
        using var dir = new TempDirectory();
        new SavedCredentials { Id = "uk1", User = "dl-m-uk1", Password = "pw" }.Save(dir.Path);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SavedCredentials.PathIn(dir.Path)));
        Assert.False(File.Exists(SavedCredentials.PathIn(dir.Path) + ".tmp"));

        // A token is ignored once credentials are saved (it was burnt by the first enrollment).
        var config = await Client(dir.Path, token: "dlt_old").ResolveAsync("127.0.0.1:6379,abortConnect=false", default);
        Assert.Contains("user=dl-m-uk1", config);
        Assert.Contains("password=pw", config);
    }

    [Fact]
    public async Task A_user_in_the_configuration_wins_and_skips_enrollment()
    {
        using var dir = new TempDirectory();
        // The token would fail (nothing listens on port 9) if enrollment were attempted.
        Assert.Equal("127.0.0.1:6379,user=ansible-uk1,password=x",
            await Client(dir.Path, token: "dlt_x").ResolveAsync("127.0.0.1:6379,user=ansible-uk1,password=x", default));
        Assert.False(File.Exists(SavedCredentials.PathIn(dir.Path)));
    }

    [Fact]
    public async Task Without_token_or_credentials_the_configured_connection_is_kept_and_a_shared_user_too()
    {
        using var dir = new TempDirectory();
        Assert.Equal("127.0.0.1:6379", await Client(dir.Path).ResolveAsync("127.0.0.1:6379", default));
        new SavedCredentials { Id = "uk1", SharedUser = true }.Save(dir.Path);
        Assert.Equal("127.0.0.1:6379", await Client(dir.Path).ResolveAsync("127.0.0.1:6379", default));
    }

    [Fact]
    public async Task Credentials_of_another_mirror_stop_the_start_with_a_reason()
    {
        using var dir = new TempDirectory();
        new SavedCredentials { Id = "fr1", User = "dl-m-fr1", Password = "pw" }.Save(dir.Path);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Client(dir.Path).ResolveAsync("127.0.0.1:6379", default));
        Assert.Contains("fr1", e.Message);
    }

    [Theory]
    [InlineData("http://r.example.org", "http://r.example.org/-/api/enroll")]
    [InlineData("http://r.example.org/", "http://r.example.org/-/api/enroll")]
    [InlineData("http://r.example.org/-/api/enroll", "http://r.example.org/-/api/enroll")]
    public void The_enroll_URL_is_derived_from_the_redirector_base(string configured, string expected) =>
        Assert.Equal(expected, EnrollmentClient.EnrollUrl(configured).ToString());

    [Fact]
    public async Task A_redirector_that_fails_is_tried_again_and_the_enrollment_completes()
    {
        using var dir = new TempDirectory();
        await using var redirector = await StandInRedirector.StartAsync(StatusCodes.Status503ServiceUnavailable, StatusCodes.Status200OK);
        var config = await Client(dir.Path, token: "dlt_ok", redirector.Url).ResolveAsync("127.0.0.1:6379", default);
        Assert.Equal(2, redirector.Posts);
        Assert.Contains("user=dl-m-uk1", config);
        Assert.Equal("dl-m-uk1", SavedCredentials.Load(dir.Path)!.User);
    }

    [Fact]
    public async Task Enrollment_makes_the_key_and_password_on_the_host_and_sends_only_the_public_key_and_the_password_hash()
    {
        using var dir = new TempDirectory();
        await using var redirector = await StandInRedirector.StartAsync(StatusCodes.Status200OK);
        var config = await Client(dir.Path, token: "dlt_ok", redirector.Url).ResolveAsync("127.0.0.1:6379", default);

        var saved = SavedCredentials.Load(dir.Path)!;
        var sent = redirector.Requests.Single();
        Assert.True(MirrorIdentity.IsPasswordSha256(sent.PasswordSha256));
        Assert.Equal(MirrorIdentity.PasswordSha256(saved.Password!), sent.PasswordSha256);
        Assert.Contains("password=" + saved.Password, config);
        Assert.DoesNotContain(saved.Password!, redirector.Bodies.Single());

        // The private key: owner-only from its first byte, and the pair of the public key that was sent.
        var keyFile = EnrollmentClient.IdentityKeyPath(dir.Path);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var privateKey = File.ReadAllText(keyFile).Trim();
        Assert.Equal(sent.PublicKey, Downloads.Contracts.Manifests.ManifestSigner.PublicKeyOf(privateKey));
        Assert.Equal(sent.PublicKey, saved.PublicKey);
        Assert.DoesNotContain(privateKey, redirector.Bodies.Single());
    }

    [Fact]
    public async Task A_refused_token_is_not_tried_again()
    {
        using var dir = new TempDirectory();
        await using var redirector = await StandInRedirector.StartAsync(StatusCodes.Status403Forbidden, StatusCodes.Status200OK);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(
            () => Client(dir.Path, token: "dlt_used", redirector.Url).ResolveAsync("127.0.0.1:6379", default));
        Assert.Contains("refused (403)", e.Message);
        Assert.Equal(1, redirector.Posts);
        Assert.Null(SavedCredentials.Load(dir.Path));
    }

    /// <summary>A real Kestrel answering <c>POST /-/api/enroll</c> with the given statuses in turn (then the last one).</summary>
    private sealed class StandInRedirector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _posts;

        public System.Collections.Concurrent.ConcurrentQueue<EnrollRequest> Requests { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<string> Bodies { get; } = new();

        private StandInRedirector(WebApplication app, string url) => (_app, Url) = (app, url);

        public string Url { get; }

        public int Posts => Volatile.Read(ref _posts);

        public static async Task<StandInRedirector> StartAsync(params int[] statuses)
        {
            var url = $"http://127.0.0.1:{FreePort.Next()}";
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(url);
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var host = new StandInRedirector(app, url);
            app.MapPost("/-/api/enroll", async (HttpRequest http) =>
            {
                var body = await new StreamReader(http.Body).ReadToEndAsync();
                var request = System.Text.Json.JsonSerializer.Deserialize<EnrollRequest>(body, System.Text.Json.JsonSerializerOptions.Web)!;
                host.Bodies.Enqueue(body);
                host.Requests.Enqueue(request);
                var n = Interlocked.Increment(ref host._posts);
                var status = statuses[Math.Min(n, statuses.Length) - 1];
                return status == StatusCodes.Status200OK
                    ? Results.Json(new EnrollResponse { Id = request.Id, User = "dl-m-" + request.Id })
                    : Results.Text("no", statusCode: status);
            });
            await app.StartAsync();
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
