using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Downloads.Redirector.Cli;

/// <summary>What an admin API call came to: the JSON answer, or an exit code and a one-line reason.</summary>
internal readonly record struct AdminAnswer(int ExitCode, JsonElement Body, string Error)
{
    public bool Ok => ExitCode == ExitCodes.Ok;
}

/// <summary>Exit codes of the ops CLI (docs/ops.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The redirector refused the operation (unknown mirror, bad value).</summary>
    public const int Refused = 1;
    /// <summary>Wrong command line.</summary>
    public const int Usage = 2;
    /// <summary>No token, or the redirector rejected it.</summary>
    public const int Unauthorized = 3;
    /// <summary>The redirector could not be reached or failed.</summary>
    public const int Unavailable = 4;
}

/// <summary>The CLI's only way in: the redirector's admin API over HTTP with the bearer token.</summary>
internal sealed class AdminClient(Uri baseUrl, string token, HttpMessageHandler? handler = null) : IDisposable
{
    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler(), disposeHandler: handler is null)
    {
        BaseAddress = baseUrl,
        Timeout = TimeSpan.FromSeconds(15),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
    };

    public Task<AdminAnswer> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<AdminAnswer> PostAsync(string path, object? body = null) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) });

    public Task<AdminAnswer> DeleteAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Delete, path));

    private async Task<AdminAnswer> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return new(ExitCodes.Unavailable, default, $"cannot reach the redirector at {_http.BaseAddress}: {e.Message}");
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync();
                JsonElement body = default;
                if (text.Length > 0)
                {
                    try
                    {
                        body = JsonDocument.Parse(text).RootElement.Clone();
                    }
                    catch (JsonException)
                    {
                        // Not JSON (a proxy's error page): reported by status below.
                    }
                }
                if (response.IsSuccessStatusCode)
                    return new(ExitCodes.Ok, body, "");
                var detail = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("detail", out var d) ? d.GetString() : null;
                detail ??= $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
                if (response.StatusCode == HttpStatusCode.NotFound && detail == Apis.AdminAuth.NotOnThisListener)
                    detail = $"{_http.BaseAddress} is the redirector's public listener: point --url or ${OpsCli.UrlVariable} at its admin listener (Admin:Urls)";
                return response.StatusCode switch
                {
                    HttpStatusCode.Unauthorized => new(ExitCodes.Unauthorized, body, $"{detail} (check --token or DOWNLOADS_ADMIN_TOKEN)"),
                    >= HttpStatusCode.InternalServerError => new(ExitCodes.Unavailable, body, detail),
                    _ => new(ExitCodes.Refused, body, detail),
                };
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
