using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using Downloads.Contracts.Hosting;
using Downloads.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Downloads.Contracts.Tests.Hosting;

public class ServiceHostTests
{
    private sealed class SomeOptions
    {
        [Range(1, 10)]
        public int Workers { get; set; }
    }

    private static WebApplication App(params string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.Services.AddOptions<SomeOptions>().BindConfiguration("Some").ValidateDataAnnotations().ValidateOnStart();
        return builder.Build();
    }

    [Fact]
    public async Task An_invalid_setting_ends_the_start_with_one_line_naming_it_and_exit_code_2()
    {
        using var error = new StringWriter();
        var code = await ServiceHost.RunAsync("demo", () => App($"--urls=http://127.0.0.1:{FreePort.Next()}", "--Some:Workers=99"), error);
        Assert.Equal(ServiceHost.InvalidConfiguration, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("demo: invalid configuration:", line, StringComparison.Ordinal);
        Assert.Contains("Workers", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listen_address_in_use_ends_the_start_with_one_line_and_exit_code_1()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        using var error = new StringWriter();
        var code = await ServiceHost.RunAsync("demo", () => App($"--urls=http://127.0.0.1:{port}", "--Some:Workers=3"), error);
        Assert.Equal(ServiceHost.StartFailed, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
    }
}
