using System.Net.Http.Headers;
using System.Text;
using Downloads.Contracts.Manifests;
using Downloads.Contracts.Mirrors;
using Downloads.Contracts.Redis;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;

namespace Downloads.Redirector.Tests.Apis;

/// <summary>
/// A real redirector over a real socket with the admin token set, a real redis-server holding the mirrors the
/// admin calls act on, and a client that sends exactly the headers a test gives (no redirects followed).
/// <see cref="SeparateAdminRig"/> puts the admin API on its own listener.
/// </summary>
public class AdminRig : IAsyncLifetime
{
    public const string Token = "admin-rig-token";

    private WebApplication? _app;

    public RedisServer Redis { get; } = new();
    public int Port { get; } = FreePort.Next();
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Where the admin API is served: its own listener with <see cref="SeparateAdminRig"/>, else <see cref="Url"/>.</summary>
    public string AdminUrl => SeparateListener ? $"http://127.0.0.1:{AdminPort}" : Url;

    public int AdminPort { get; } = FreePort.Next();

    public HttpClient Http { get; } = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(20) };

    protected virtual bool SeparateListener => false;

    public async Task InitializeAsync()
    {
        string[] admin = SeparateListener ? [$"--Admin:Urls={AdminUrl}"] : [];
        _app = RedirectorApp.Build([$"--urls={Url}", $"--Redis:Configuration={Redis.Configuration}", $"--Admin:Token={Token}",
            $"--Redirector:PublicKey={ManifestSigner.GenerateKeyPair().PublicKey}", "--Health:Enabled=false", "--Logging:LogLevel:Default=Warning", .. admin]);
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Http.Dispose();
        Redis.Dispose();
    }

    /// <summary>Adds an approved, enabled, not draining mirror with this id.</summary>
    public Task AddMirrorAsync(string id) =>
        TestMirrors.AddApprovedAsync(Redis.Admin.GetDatabase(), id, $"http://{id}.example.org", 51.5, -0.12, "GB", "EU", serial: 1);

    /// <summary>The mirror as Redis holds it now, null when it is gone.</summary>
    public async Task<MirrorRecord?> MirrorAsync(string id) =>
        (await MirrorStore.LoadAllAsync(Redis.Admin.GetDatabase(), DateTimeOffset.UtcNow)).SingleOrDefault(m => m.Id == id);

    public static AuthenticationHeaderValue Bearer(string token = Token) => new("Bearer", token);

    public static AuthenticationHeaderValue Basic(string password = Token) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + password)));

    /// <summary>Sends <paramref name="method"/> to <paramref name="baseUrl"/> (default <see cref="AdminUrl"/>) + <paramref name="path"/> with the given headers (null: not sent).</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, AuthenticationHeaderValue? auth,
        string? fetchSite = null, string? origin = null, string? baseUrl = null, string? host = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, (baseUrl ?? AdminUrl) + path) { Content = content };
        request.Headers.Authorization = auth;
        if (fetchSite is not null)
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        if (origin is not null)
            request.Headers.Add("Origin", origin);
        if (host is not null)
            request.Headers.Host = host;
        return await Http.SendAsync(request);
    }
}

/// <summary><see cref="AdminRig"/> with <c>Admin:Urls</c> set: the admin API on <see cref="AdminRig.AdminUrl"/>, the public listener on <see cref="AdminRig.Url"/>.</summary>
public sealed class SeparateAdminRig : AdminRig
{
    protected override bool SeparateListener => true;
}
