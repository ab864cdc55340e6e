using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Mirror;
using Downloads.Mirror.Enrollment;
using Downloads.Redirector;
using Downloads.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Downloads.EndToEnd.Tests.Reliability;

/// <summary>Secrets (admin token, enrollment token, a mirror's Redis password) never reach a log line, even at Trace.</summary>
public sealed class SecretsNotLoggedTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private sealed record TokenAnswer(string Token, DateTimeOffset Expires);

    /// <summary>
    /// Every category the services quiet by default (ServiceDefaults: request logs, ASP.NET Core, outgoing HTTP
    /// calls) at Trace too, so their lines are checked as well.
    /// </summary>
    private static readonly string[] AllTrace = ServiceDefaults.DefaultLogLevels.Select(l => $"--{l.Key}=Trace").ToArray();

    [Fact]
    public async Task Issuing_a_token_enrolling_approving_a_wrong_token_and_a_real_mirror_enrolling_log_no_secret()
    {
        const string adminToken = "admin-4f1c9e2b7d";
        const string wrongToken = "guess-8a3b5c7d9e";
        var recorder = new RecordingLoggerProvider();
        await using var app = RedirectorApp.Build([$"--urls=http://127.0.0.1:{FreePort.Next()}", $"--Redis:Configuration={redis.Configuration}",
            "--Redirector:Origin=http://127.0.0.1:9", $"--Redirector:PublicKey={ManifestSigner.PublicKeyOf(ManifestSigner.GenerateKeyPair().PrivateKey)}",
            $"--Admin:Token={adminToken}", .. AllTrace],
            services => services.AddSingleton<ILoggerProvider>(recorder));
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using (var wrong = new HttpRequestMessage(HttpMethod.Post, "/-/api/tokens"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", wrongToken);
            using var answer = await http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        }
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var issued = await http.PostAsJsonAsync("/-/api/tokens", new { lifetimeHours = 1 });
        var token = (await issued.Content.ReadFromJsonAsync<TokenAnswer>())!.Token;
        // The mirror's own password: only its hash is sent.
        var password = MirrorIdentity.NewPassword();
        using var enroll = await http.PostAsJsonAsync("/-/api/enroll", new EnrollRequest
        {
            Id = "secret1",
            Token = token,
            Info = new() { ["httpUrl"] = "http://secret1.example.org", ["capacityMbps"] = "100" },
            PublicKey = MirrorIdentity.NewKeyPair().PublicKey,
            PasswordSha256 = MirrorIdentity.PasswordSha256(password),
        });
        enroll.EnsureSuccessStatusCode();
        using var again = await http.PostAsJsonAsync("/-/api/enroll", new EnrollRequest { Id = "secret2", Token = token });
        Assert.False(again.IsSuccessStatusCode); // a burnt token is refused
        (await http.PostAsync("/-/api/mirrors/secret1/approve", null)).EnsureSuccessStatusCode();

        // A real mirror enrolls with a fresh token over HTTP, saves its password and connects with it.
        using var issued2 = await http.PostAsJsonAsync("/-/api/tokens", new { lifetimeHours = 1 });
        var mirrorToken = (await issued2.Content.ReadFromJsonAsync<TokenAnswer>())!.Token;
        using var data = new TempDirectory("secrets");
        var mirrorLog = new RecordingLoggerProvider();
        await using (var mirror = MirrorApp.Build([
            $"--urls=http://127.0.0.1:{FreePort.Next()}", "--Mirror:Id=secret3", $"--Mirror:DataDir={data.Path}",
            "--Mirror:Upstream=http://127.0.0.1:9", "--Mirror:PublicKey=unused", "--Mirror:HttpUrl=http://secret3.example.org",
            $"--Redis:Configuration={redis.Configuration}", "--Reporting:Interval=00:00:00.200", .. AllTrace,
            $"--Enrollment:Token={mirrorToken}", $"--Enrollment:Redirector={app.Urls.First()}"],
            services => services.AddSingleton<ILoggerProvider>(mirrorLog)))
        {
            await mirror.StartAsync();
            await mirror.StopAsync();
        }
        var mirrorPassword = SavedCredentials.Load(data.Path)!.Password;
        Assert.False(string.IsNullOrEmpty(mirrorPassword));
        var mirrorKey = File.ReadAllText(EnrollmentClient.IdentityKeyPath(data.Path)).Trim();
        await app.StopAsync();

        var lines = recorder.Lines.ToArray();
        Assert.True(lines.Length > 20, $"only {lines.Length} log lines recorded: the recorder is not wired");
        Assert.Contains(lines, l => l.Contains("/-/api/enroll", StringComparison.Ordinal)); // requests were logged, just not their secrets
        foreach (var secret in new[] { adminToken, wrongToken, token, password, mirrorToken, mirrorPassword, mirrorKey })
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        var mirrorLines = mirrorLog.Lines.ToArray();
        Assert.Contains(mirrorLines, l => l.Contains("secret3", StringComparison.Ordinal) && l.Contains("enrolled", StringComparison.Ordinal));
        foreach (var secret in new[] { mirrorToken, mirrorPassword, mirrorKey })
            Assert.DoesNotContain(mirrorLines, l => l.Contains(secret, StringComparison.Ordinal));
    }
}
