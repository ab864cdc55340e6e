using System.CommandLine;
using System.Globalization;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Mirrors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Downloads.Redirector.Membership;

/// <summary>
/// <c>redirector mirrors list|stats|token|approve|enable|disable|drain|undrain|capacity|weight|remove …
/// [--Redis:Configuration=…]</c>: ops' CLI over <see cref="MembershipService"/>, talking to Redis directly.
/// </summary>
public static class MirrorsCommand
{
    /// <summary>The verb.</summary>
    public const string Name = "mirrors";

    /// <summary>Runs <c>mirrors …</c> (<paramref name="args"/> without the leading verb); returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var id = new Argument<string>("id") { Description = "Mirror id" };
        var root = new RootCommand("Downloads mirrors: enrollment tokens, approval and per-mirror settings.")
        {
            Verb("list", "Lists every mirror with status, health, serial, rate and quota use.", [], (s, _) => ListAsync(s, output)),
            Verb("stats", "Same as list.", [], (s, _) => ListAsync(s, output)),
            Verb("token", "Issues a one-time enrollment token.", [], async (s, _) =>
            {
                var (token, expires) = await s.IssueTokenAsync();
                await output.WriteLineAsync($"{token}  (valid until {expires:u}; give it to the host as --Enrollment:Token)");
                return 0;
            }),
            Verb("approve", "Approves a pending mirror and switches its Redis user on.", [id], (s, p) => Show(s.ApproveAsync(p.GetValue(id)!), output, error)),
            Verb("enable", "Enables a mirror.", [id], (s, p) => Show(s.SetEnabledAsync(p.GetValue(id)!, true), output, error)),
            Verb("disable", "Disables a mirror (no traffic; it keeps reporting).", [id], (s, p) => Show(s.SetEnabledAsync(p.GetValue(id)!, false), output, error)),
            Verb("drain", "Drains a mirror (no new traffic).", [id], (s, p) => Show(s.SetDrainingAsync(p.GetValue(id)!, true), output, error)),
            Verb("undrain", "Stops draining.", [id], (s, p) => Show(s.SetDrainingAsync(p.GetValue(id)!, false), output, error)),
            Number("capacity", "Sets the capacity ops grant, Mbit/s.", id, (s, m, v) => s.SetCapacityAsync(m, v), output, error),
            Number("weight", "Sets the relative weight (default 100).", id, (s, m, v) => s.SetWeightAsync(m, v), output, error),
            Verb("remove", "Removes a mirror, its keys and its Redis user.", [id], async (s, p) =>
            {
                var result = await s.RemoveAsync(p.GetValue(id)!);
                await (result.Ok ? output.WriteLineAsync($"removed {result.Value}") : error.WriteLineAsync($"mirrors remove: {result.Reason}"));
                return result.Ok ? 0 : 1;
            }),
        };
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            await error.WriteLineAsync($"mirrors {(args.Length > 0 ? args[0] : "")}: {e.Message}");
            return 1;
        }
    }

    private static Command Verb(string name, string description, Argument[] arguments, Func<MembershipService, ParseResult, Task<int>> run)
    {
        var command = new Command(name, description) { TreatUnmatchedTokensAsErrors = false };
        foreach (var a in arguments)
            command.Arguments.Add(a);
        command.SetAction(async (parse, _) =>
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine([.. parse.UnmatchedTokens]).Build();
            var redis = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
            var config = ConfigurationOptions.Parse(redis.Configuration);
            config.ConnectTimeout = 3000;
            await using var mux = await ConnectionMultiplexer.ConnectAsync(config);
            var service = new MembershipService(mux, Options.Create(configuration.GetSection(MembershipOptions.Section).Get<MembershipOptions>() ?? new MembershipOptions()),
                TimeProvider.System, NullLogger<MembershipService>.Instance);
            return await run(service, parse);
        });
        return command;
    }

    private static Command Number(string name, string description, Argument<string> id,
        Func<MembershipService, string, double, Task<MembershipResult<MirrorRecord>>> set, TextWriter output, TextWriter error)
    {
        var value = new Argument<double>("value") { Description = description };
        return Verb(name, description, [id, value], (s, p) => Show(set(s, p.GetValue(id)!, p.GetValue(value)), output, error));
    }

    private static async Task<int> Show(Task<MembershipResult<MirrorRecord>> operation, TextWriter output, TextWriter error)
    {
        var result = await operation;
        if (!result.Ok)
        {
            await error.WriteLineAsync($"mirrors: {result.Reason}");
            return 1;
        }
        await output.WriteLineAsync(Line(result.Value!));
        return 0;
    }

    private static async Task<int> ListAsync(MembershipService service, TextWriter output)
    {
        await output.WriteLineAsync("id                   status    on  drain alive health  serial  rate Mbit/s  month GB / quota GB  reason");
        foreach (var m in await service.ListAsync())
            await output.WriteLineAsync(Line(m));
        return 0;
    }

    private static string Line(MirrorRecord m) => string.Create(CultureInfo.InvariantCulture,
        $"{m.Id,-20} {(m.Status == MirrorStatus.Approved ? "approved" : "pending"),-9} {(m.Enabled ? "yes" : "no"),-3} {(m.Draining ? "yes" : "no"),-5} {(m.Alive ? "yes" : "no"),-5} {(m.Healthy ? "ok" : "FAIL"),-6} {m.Serial,7} {m.RateBps * 8 / 1e6,12:0.0}  {m.MonthBytes / 1e9,8:0.0} / {(m.QuotaBytes > 0 ? (m.QuotaBytes / 1e9).ToString("0", CultureInfo.InvariantCulture) : "-"),-8}  {(m.Healthy ? m.LastError : m.HealthReason)}");
}
