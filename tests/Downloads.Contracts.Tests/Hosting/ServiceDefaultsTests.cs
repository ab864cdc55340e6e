using System.Diagnostics;
using Downloads.Contracts.Hosting;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
}
