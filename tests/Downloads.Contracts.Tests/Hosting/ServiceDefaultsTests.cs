using System.Diagnostics;
using Downloads.Contracts.Hosting;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Downloads.Contracts.Tests.Hosting;

public class ServiceDefaultsTests
{
    private static async Task<(IReadOnlyCollection<string> Lines, bool SawActivity)> OneRequestAsync(params string[] extra)
    {
        var recorder = new RecordingLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder([$"--urls=http://127.0.0.1:{FreePort.Next()}", "--Logging:LogLevel:Default=Trace", .. extra]);
        builder.AddServiceDefaults();
        builder.Services.AddSingleton<ILoggerProvider>(recorder);
        await using var app = builder.Build();
        var sawActivity = false;
        app.MapGet("/x", () =>
        {
            sawActivity = Activity.Current is not null;
            return Results.Redirect("http://mirror.example/x");
        });
        await app.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(app.Urls.First()) };
        using var response = await http.GetAsync("/x");
        Assert.Equal(System.Net.HttpStatusCode.Redirect, response.StatusCode);
        await app.StopAsync();
        return (recorder.Lines, sawActivity);
    }

    [Fact]
    public async Task Requests_are_not_logged_nor_traced_by_default_even_at_trace_level()
    {
        var (lines, sawActivity) = await OneRequestAsync();
        Assert.DoesNotContain(lines, l => l.Contains("Request starting", StringComparison.Ordinal));
        Assert.False(sawActivity, "a per-request Activity was started although nothing listens");
    }

    [Fact]
    public async Task The_hosting_log_level_setting_turns_request_logs_back_on()
    {
        var (lines, sawActivity) = await OneRequestAsync($"--{ServiceDefaults.HostingDiagnosticsLogLevelKey}=Information");
        Assert.Contains(lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("/x", StringComparison.Ordinal));
        Assert.True(sawActivity);
    }

    [Fact]
    public async Task At_the_shipped_levels_a_request_and_an_outgoing_call_log_nothing_but_a_service_event_does()
    {
        var recorder = new RecordingLoggerProvider();
        var builder = ServiceDefaults.CreateBuilder([$"--urls=http://127.0.0.1:{FreePort.Next()}"]);
        builder.AddServiceDefaults();
        builder.Services.AddSingleton<ILoggerProvider>(recorder);
        builder.Services.AddHttpClient("probe");
        await using var app = builder.Build();
        app.MapGet("/x", () => Results.Text("ok"));
        await app.StartAsync();
        var started = recorder.Lines.Count;

        using (var http = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("probe"))
        {
            for (var i = 0; i < 3; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{app.Urls.First()}/x");
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            }
        }
        var quiet = recorder.Lines.Skip(started).ToArray();
        app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Downloads.Some.Service").LogInformation("a state change");
        await app.StopAsync();

        Assert.True(quiet.Length == 0, string.Join("\n", quiet));
        Assert.Contains(recorder.Lines, l => l.Contains("Now listening on", StringComparison.Ordinal));
        Assert.Contains(recorder.Lines, l => l.Contains("a state change", StringComparison.Ordinal));
    }

    [Fact]
    public void The_builder_reads_configuration_files_once_from_the_application_folder()
    {
        var builder = ServiceDefaults.CreateBuilder([]);

        Assert.Equal(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), Path.TrimEndingDirectorySeparator(builder.Environment.ContentRootPath));
        var files = builder.Configuration.Sources.OfType<JsonConfigurationSource>().ToArray();
        Assert.NotEmpty(files); // appsettings.json and appsettings.{Environment}.json, optional
        Assert.All(files, f => Assert.False(f.ReloadOnChange, $"{f.Path} is watched"));
    }
}
