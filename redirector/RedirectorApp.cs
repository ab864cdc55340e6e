using Downloads.Contracts.Hosting;
using Downloads.Redirector.Apis;
using Downloads.Redirector.Membership;

namespace Downloads.Redirector;

/// <summary>Composes the redirector service; tests build it in-process with the same arguments as production.</summary>
public static class RedirectorApp
{
    /// <summary>Builds the web application from command-line style arguments.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Services.AddDownloadsRedis();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMembership().AddAdminApi();
        var app = builder.Build();
        app.MapAdminApi();
        return app;
    }
}
