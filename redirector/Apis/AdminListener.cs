using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Apis;

/// <summary>
/// The separate admin listener (<see cref="AdminOptions.Urls"/>). When it is set, Kestrel listens on the public
/// URLs (<c>--urls</c>) and on the admin ones, and marks every connection an admin listener accepts, so the admin
/// gate (<see cref="AdminAuth"/>) tells them apart by the socket a request arrived on, never by its Host header,
/// which any client writes. The admin token is then out of reach of public brute force, and the dashboard can
/// sit on a private or loopback address.
/// </summary>
internal static class AdminListener
{
    // Kestrel's own default when neither --urls nor ASPNETCORE_URLS is given.
    private const string DefaultUrls = "http://localhost:5000";

    /// <summary>Binds the public and the admin listeners when <c>Admin:Urls</c> is set; otherwise leaves Kestrel as it is.</summary>
    /// <exception cref="OptionsValidationException">A URL that is not <c>http://HOST:PORT</c>, or an admin host that is a name.</exception>
    public static WebApplicationBuilder AddAdminListener(this WebApplicationBuilder builder)
    {
        const string adminKey = $"{AdminOptions.Section}:{nameof(AdminOptions.Urls)}";
        var admin = Parse(builder.Configuration[adminKey], adminKey);
        if (admin.Count == 0)
            return builder;
        foreach (var a in admin)
        {
            // Kestrel binds a host name to every address: an admin listener must never do that by accident.
            if (!IsLocalhost(a) && !IPAddress.TryParse(a.Host, out _))
                throw Invalid(adminKey, $"'{a}' must name an IP address or localhost (a host name would listen on every address)");
        }
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        var publicUrls = Parse(string.IsNullOrWhiteSpace(urls) ? DefaultUrls : urls, "urls");
        // Both sets are bound below; the hosting layer must not bind --urls as well (it would only warn that they are overridden).
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var a in publicUrls)
                Listen(kestrel, a, static _ => { });
            foreach (var a in admin)
                Listen(kestrel, a, MarkAdmin);
        });
        return builder;
    }

    /// <summary>Whether the request came in on an admin listener.</summary>
    public static bool IsAdminConnection(HttpContext http) => http.Features.Get<AdminConnection>() is not null;

    private static void MarkAdmin(ListenOptions listen) => listen.Use(next => connection =>
    {
        // Connection features are visible from every request on the connection (HttpContext.Features).
        connection.Features.Set(AdminConnection.Instance);
        return next(connection);
    });

    // As Kestrel's own binder does with --urls: localhost is both loopbacks, an IP address itself, anything else every address.
    private static void Listen(KestrelServerOptions kestrel, BindingAddress address, Action<ListenOptions> configure)
    {
        if (IsLocalhost(address))
            kestrel.ListenLocalhost(address.Port, configure);
        else if (IPAddress.TryParse(address.Host, out var ip))
            kestrel.Listen(ip, address.Port, configure);
        else
            kestrel.ListenAnyIP(address.Port, configure);
    }

    private static bool IsLocalhost(BindingAddress address) => string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase);

    private static List<BindingAddress> Parse(string? urls, string key)
    {
        var list = new List<BindingAddress>();
        foreach (var url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException e)
            {
                throw Invalid(key, $"'{url}' is not a listen URL: {e.Message}");
            }
            // The slim host has no TLS; TLS ends in front of the redirector (docs/ops.md).
            if (address.IsUnixPipe || !string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase) || address.PathBase.Length > 0)
                throw Invalid(key, $"'{url}': with Admin:Urls set every listener must be http://HOST:PORT");
            list.Add(address);
        }
        return list;
    }

    private static OptionsValidationException Invalid(string key, string message) =>
        new(AdminOptions.Section, typeof(AdminOptions), [$"{key}: {message}"]);

    /// <summary>Set on every connection an admin listener accepts.</summary>
    private sealed class AdminConnection
    {
        public static readonly AdminConnection Instance = new();
    }
}
