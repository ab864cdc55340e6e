using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Downloads.Contracts.Mirrors;

namespace Downloads.Redirector.Cli;

/// <summary>
/// <c>redirector mirrors|tokens|stats …</c>: ops' CLI. It only drives the admin API over HTTP
/// (<c>--url</c>, <c>--token</c> or <c>DOWNLOADS_ADMIN_TOKEN</c>), so every operation has one
/// implementation (MembershipService behind the API) and the CLI works from any host that can reach a
/// redirector. Readable tables by default, the API's JSON with <c>--json</c>; exit codes in <see cref="ExitCodes"/>.
/// </summary>
public static class OpsCli
{
    /// <summary>Verbs dispatched here by Program.Main.</summary>
    public static readonly IReadOnlySet<string> Verbs = new HashSet<string>(StringComparer.Ordinal) { "mirrors", "tokens", "stats", "staging" };

    /// <summary>Environment variable holding the admin token.</summary>
    public const string TokenVariable = "DOWNLOADS_ADMIN_TOKEN";

    /// <summary>Environment variable holding the redirector URL.</summary>
    public const string UrlVariable = "DOWNLOADS_REDIRECTOR_URL";

    /// <summary>Environment variable holding the ops path's Redis configuration (the admin user): approve, remove and sync-users run with it.</summary>
    public const string AdminRedisVariable = "DOWNLOADS_ADMIN_REDIS";

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    /// <summary>Runs the CLI with the full argument list (starting with the verb); returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null,
        Func<string, string?>? environment = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        environment ??= Environment.GetEnvironmentVariable;
        var url = new Option<string>("--url")
        {
            Description = $"Redirector base URL (default: ${UrlVariable} or http://127.0.0.1:8080)",
            Recursive = true,
        };
        var token = new Option<string>("--token") { Description = $"Admin token (default: ${TokenVariable})", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table", Recursive = true };
        var redis = new Option<string>("--redis")
        {
            Description = $"The ops path: Redis configuration with the admin user, every node listed (default: ${AdminRedisVariable}); approve, remove and sync-users then manage mirrors' Redis users directly",
            Recursive = true,
        };
        var id = new Argument<string>("id") { Description = "Mirror id" };
        var billingDay = new Argument<int>("day") { Description = "Day of the month, 1-28" };
        var ctx = new Context(url, token, json, redis, output, error, environment);

        var mirrors = new Command("mirrors", "List and manage mirrors.")
        {
            Call(ctx, "list", "Every mirror: status, health, serial, rate, capacity, quota use.", [], _ => ctx.Get("/-/api/mirrors"), PrintMirrors),
            Call(ctx, "show", "One mirror with its last health check.", [id], p => ShowAsync(ctx, p.GetValue(id)!), PrintShow),
            Call(ctx, "approve", "Approve a pending mirror, or the change it requested (its info becomes the approved record): creates its Redis user from the password hash it sent (ops path: --redis).", [id],
                p => ctx.Post($"/-/api/mirrors/{Uri.EscapeDataString(p.GetValue(id)!)}/approve"), PrintMirror,
                (p, config) => OpsPath.RunAsync(config, m => m.ApproveAsync(p.GetValue(id)!))),
            Post(ctx, "enable", "Enable a mirror.", id),
            Post(ctx, "disable", "Disable a mirror: no traffic; it keeps reporting.", id),
            Post(ctx, "drain", "Drain a mirror: running downloads finish, no new ones.", id),
            Post(ctx, "undrain", "Stop draining.", id),
            Set(ctx, "set-capacity", "capacity", "mbps", "Capacity ops grant, Mbit/s (overrides the declared one).", id),
            Set(ctx, "set-weight", "weight", "weight", "Relative weight in the lottery (default 100).", id),
            Set(ctx, "set-quota", "quota", "gb", "Quota per billing period, GB (10^9 bytes); 0 for none (overrides the declared one).", id),
            Call(ctx, "set-billing-day", "Day of the month (1-28) the mirror's billing period starts; re-grants its usage keys (ops path: --redis; else run sync-users after).",
                [id, billingDay], p => ctx.Post($"/-/api/mirrors/{Uri.EscapeDataString(p.GetValue(id)!)}/billing-day", new Dictionary<string, double> { ["day"] = p.GetValue(billingDay) }),
                PrintMirror, (p, config) => OpsPath.RunAsync(config, m => m.SetBillingDayAsync(p.GetValue(id)!, p.GetValue(billingDay)))),
            Set(ctx, "set-burst", "burst", "percent", "Burst allowance, percent of the quota (default Redirector:QuotaBurstPercent).", id),
            Call(ctx, "remove", "Remove (revoke) a mirror: its Redis user, its key and its records (ops path: --redis).", [id],
                p => ctx.Delete($"/-/api/mirrors/{Uri.EscapeDataString(p.GetValue(id)!)}"), (_, p) => $"removed {p.GetValue(id)}\n",
                (p, config) => OpsPath.RunAsync(config, m => m.RemoveAsync(p.GetValue(id)!))),
            Call(ctx, "sync-users", "Ops path only (--redis): grant each approved mirror's user its current billing periods' keys on every node; delete users of removed mirrors. Run daily.", [],
                _ => Task.FromResult(new AdminAnswer(ExitCodes.Usage, default, $"sync-users runs on the ops path only: pass --redis or set {AdminRedisVariable}")),
                (body, _) => $"granted {Tables.Num(body, "item1"):0} users their billing periods' keys; deleted {Tables.Num(body, "item2"):0} users of removed mirrors\n",
                (_, config) => OpsPath.RunAsync(config, m => m.SyncUsersAsync())),
        };
        var hours = new Option<double?>("--hours") { Description = "Validity in hours (default: the redirector's Membership:TokenLifetime)" };
        var issue = Call(ctx, "issue", "Issue a one-time enrollment token for a new mirror host.", [],
            p => ctx.Post("/-/api/tokens", new { lifetimeHours = p.GetValue(hours) }),
            (body, _) => $"{Tables.Str(body, "token")}  (valid until {Tables.Str(body, "expires")}; give it to the host as --Enrollment:Token)\n");
        issue.Options.Add(hours);
        var tokens = new Command("tokens", "Enrollment tokens.") { issue };
        var stats = Call(ctx, "stats", "Network figures today: every request by outcome (live and today), redirects/s, unique addresses, per mirror, file and country.", [],
            _ => ctx.Get("/-/api/stats"), PrintStats);

        var expected = new Option<string>("--expected") { Description = "Expected surge per region, Gbit/s: EU:40,NA:20 (gives each region a go/no-go)" };
        var staging = Call(ctx, "staging", "Staged releases (opaque ids): share of mirrors and capacity per region already holding each, go/no-go.", [],
            p => ctx.Get("/-/api/staging" + (p.GetValue(expected) is { Length: > 0 } e ? "?expected=" + Uri.EscapeDataString(e) : "")), PrintStaging);
        staging.Options.Add(expected);

        var root = new RootCommand("Downloads ops CLI: drives a redirector's admin API, and on the ops path (--redis) manages mirrors' Redis users.") { mirrors, tokens, stats, staging };
        root.Options.Add(redis);
        root.Options.Add(url);
        root.Options.Add(token);
        root.Options.Add(json);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
                await error.WriteLineAsync($"redirector: {e.Message}");
            await error.WriteLineAsync("redirector: see --help");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private sealed record Context(Option<string> Url, Option<string> Token, Option<bool> Json, Option<string> Redis, TextWriter Output, TextWriter Error,
        Func<string, string?> Environment)
    {
        public AdminClient? Client { get; set; }

        public Task<AdminAnswer> Get(string path) => Client!.GetAsync(path);
        public Task<AdminAnswer> Post(string path, object? body = null) => Client!.PostAsync(path, body);
        public Task<AdminAnswer> Delete(string path) => Client!.DeleteAsync(path);
    }

    /// <summary>A verb: build the client, call, then print JSON or a table; failures to stderr with their exit code.</summary>
    private static Command Call(Context ctx, string name, string description, Argument[] arguments,
        Func<ParseResult, Task<AdminAnswer>> call, Func<JsonElement, ParseResult, string> print,
        Func<ParseResult, string, Task<AdminAnswer>>? opsPath = null)
    {
        var command = new Command(name, description);
        foreach (var a in arguments)
            command.Arguments.Add(a);
        command.SetAction(async (parse, _) =>
        {
            var verb = string.Join(' ', parse.CommandResult.Command.Parents.OfType<Command>().Where(c => c is not RootCommand).Select(c => c.Name).Reverse().Append(name));
            var redisValue = parse.GetValue(ctx.Redis) is { Length: > 0 } r ? r : ctx.Environment(AdminRedisVariable);
            if (opsPath is not null && !string.IsNullOrWhiteSpace(redisValue))
                return await PrintAsync(ctx, parse, verb, await opsPath(parse, redisValue), print);
            var tokenValue = parse.GetValue(ctx.Token) is { Length: > 0 } t ? t : ctx.Environment(TokenVariable);
            if (string.IsNullOrWhiteSpace(tokenValue))
            {
                await ctx.Error.WriteLineAsync($"redirector {verb}: no admin token; pass --token or set {TokenVariable}");
                return ExitCodes.Unauthorized;
            }
            var urlValue = parse.GetValue(ctx.Url) is { Length: > 0 } u ? u : ctx.Environment(UrlVariable) ?? "http://127.0.0.1:8080";
            if (!Uri.TryCreate(urlValue, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            {
                await ctx.Error.WriteLineAsync($"redirector {verb}: --url '{urlValue}' is not an http(s) URL");
                return ExitCodes.Usage;
            }
            using var client = new AdminClient(baseUrl, tokenValue.Trim());
            ctx.Client = client;
            return await PrintAsync(ctx, parse, verb, await call(parse), print);
        });
        return command;
    }

    private static async Task<int> PrintAsync(Context ctx, ParseResult parse, string verb, AdminAnswer answer, Func<JsonElement, ParseResult, string> print)
    {
        if (!answer.Ok)
        {
            await ctx.Error.WriteLineAsync($"redirector {verb}: {answer.Error}");
            return answer.ExitCode;
        }
        if (parse.GetValue(ctx.Json))
            await ctx.Output.WriteLineAsync(answer.Body.ValueKind == JsonValueKind.Undefined ? "{}" : JsonSerializer.Serialize(answer.Body, Pretty));
        else
            await ctx.Output.WriteAsync(print(answer.Body, parse));
        return ExitCodes.Ok;
    }

    private static Command Post(Context ctx, string verb, string description, Argument<string> id) =>
        Call(ctx, verb, description, [id], p => ctx.Post($"/-/api/mirrors/{Uri.EscapeDataString(p.GetValue(id)!)}/{verb}"), PrintMirror);

    private static Command Set(Context ctx, string verb, string endpoint, string field, string description, Argument<string> id)
    {
        var value = new Argument<double>("value") { Description = description };
        return Call(ctx, verb, description, [id, value],
            p => ctx.Post($"/-/api/mirrors/{Uri.EscapeDataString(p.GetValue(id)!)}/{endpoint}", new Dictionary<string, double> { [field] = p.GetValue(value) }),
            PrintMirror);
    }

    private static async Task<AdminAnswer> ShowAsync(Context ctx, string id)
    {
        var path = $"/-/api/mirrors/{Uri.EscapeDataString(id)}";
        var mirror = await ctx.Get(path);
        if (!mirror.Ok)
            return mirror;
        var health = await ctx.Get(path + "/health");
        var merged = new Dictionary<string, JsonElement> { ["mirror"] = mirror.Body, ["health"] = health.Body };
        return new AdminAnswer(ExitCodes.Ok, JsonSerializer.SerializeToElement(merged), "");
    }

    private static string PrintMirrors(JsonElement body, ParseResult _) =>
        Tables.Render(Tables.MirrorColumns, body.ValueKind == JsonValueKind.Array ? body.EnumerateArray().Select(Tables.MirrorRow) : []);

    private static string PrintMirror(JsonElement body, ParseResult _) => Tables.Render(Tables.MirrorColumns, [Tables.MirrorRow(body)]);

    private static string PrintShow(JsonElement body, ParseResult _)
    {
        var rows = new List<string[]>();
        foreach (var p in body.GetProperty("mirror").EnumerateObject())
        {
            // A pending change, one row per field: what is in use, and what the mirror asks for.
            if (p.Name == "pendingChange" && p.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var f in p.Value.EnumerateObject())
                    rows.Add(["pending." + f.Name, $"{Tables.Str(f.Value, "approved")} -> {Tables.Str(f.Value, "requested")} (approve to apply)"]);
                continue;
            }
            rows.Add([p.Name, Text(p.Value)]);
        }
        if (body.GetProperty("health") is { ValueKind: JsonValueKind.Object } health)
        {
            foreach (var p in health.EnumerateObject())
                rows.Add(["health." + p.Name, Text(p.Value)]);
        }
        return Tables.Render(["field", "value"], rows);
    }

    private static string PrintStaging(JsonElement v, ParseResult _)
    {
        var text = new System.Text.StringBuilder();
        if (v.GetArrayLength() == 0)
            return "no staged file is held by any routable mirror\n";
        text.AppendLine("staged id                          region  mirrors  capacity (Gbit/s)   expected  verdict");
        foreach (var file in v.EnumerateArray())
        {
            foreach (var r in file.GetProperty("regions").EnumerateArray())
            {
                var expected = r.GetProperty("expectedGbps").ValueKind == JsonValueKind.Number ? r.GetProperty("expectedGbps").GetDouble().ToString("0.#", CultureInfo.InvariantCulture) : "-";
                text.Append(CultureInfo.InvariantCulture,
                    $"{file.GetProperty("id").GetString()}  {r.GetProperty("region").GetString(),-6}  {r.GetProperty("holding").GetInt32(),3}/{r.GetProperty("mirrors").GetInt32(),-3}  {r.GetProperty("holdingGbps").GetDouble(),7:0.##}/{r.GetProperty("capacityGbps").GetDouble(),-7:0.##} {r.GetProperty("capacityShare").GetDouble(),4:P0}  {expected,8}  {r.GetProperty("verdict").GetString()}\n");
            }
        }
        return text.ToString();
    }

    /// <summary>The quota forecast of one mirror of the ops view: "-" without one, the date, and a warning when it falls inside the period.</summary>
    private static string QuotaRunsOut(JsonElement m)
    {
        if (!m.TryGetProperty("quotaRunsOutAt", out var at) || at.ValueKind != JsonValueKind.String)
            return "-";
        var text = at.GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        return Tables.Bool(m, "quotaWarning") ? text + " WARNING: before period end" : text;
    }

    /// <summary>
    /// The usage rates of one mirror of the ops view, Mbit/s: "recent / period mean", with a star on the one the forecast
    /// is made at ("-" for the recent one while the window covers too little).
    /// </summary>
    private static string QuotaRates(JsonElement m)
    {
        var recentAt = m.TryGetProperty("quotaRecentBps", out var r) && r.ValueKind == JsonValueKind.Number;
        var recent = recentAt ? Bandwidth.Mbps(r.GetDouble()).ToString("0.0", CultureInfo.InvariantCulture) + "*" : "-";
        var mean = Bandwidth.Mbps(Tables.Num(m, "quotaMeanBps")).ToString("0.0", CultureInfo.InvariantCulture) + (recentAt ? "" : "*");
        return recent + " / " + mean;
    }

    internal static string PrintStats(JsonElement v, ParseResult _)
    {
        var head = Tables.Render(["figure", "value"],
        [
            ["redirects/s (network)", Tables.Num(v, "redirectsPerSecond").ToString("0.0", CultureInfo.InvariantCulture)],
            ["redirects/s (this redirector)", Tables.Num(v, "localRedirectsPerSecond").ToString("0.0", CultureInfo.InvariantCulture)],
            ["redirects today", Tables.Num(v, "redirectsToday").ToString("0", CultureInfo.InvariantCulture)],
            ["requests today (every outcome)", Tables.Num(v, "requestsToday").ToString("0", CultureInfo.InvariantCulture)],
            ["downloads today (GET redirects + Metalinks)", Tables.Num(v, "downloadsToday").ToString("0", CultureInfo.InvariantCulture)],
            ["unique addresses today", Tables.Num(v, "uniqueAddressesToday").ToString("0", CultureInfo.InvariantCulture)],
            ["unique addresses today (every outcome)", Tables.Num(v, "uniqueAddressesAllToday").ToString("0", CultureInfo.InvariantCulture)],
            ["pending (not yet in Redis)", Tables.Num(v, "pendingRedirects").ToString("0", CultureInfo.InvariantCulture)],
            ["pending requests (every outcome)", Tables.Num(v, "pendingRequests").ToString("0", CultureInfo.InvariantCulture)],
            ["redis", Tables.Bool(v, "redisAvailable") ? "ok" : "UNAVAILABLE: " + Tables.Str(v, "redisError")],
        ]);
        var mirrors = Tables.Render(["mirror", "rate Mbit/s", "capacity Mbit/s", "redirects today", "share", "behind", "health", "use Mbit/s (recent / period mean)", "quota runs out (at *)"],
            v.GetProperty("mirrors").EnumerateArray().Select(m => new[]
            {
                Tables.Str(m, "id"),
                Bandwidth.Mbps(Tables.Num(m, "rateBps")).ToString("0.0", CultureInfo.InvariantCulture),
                Bandwidth.Mbps(Tables.Num(m, "capacityBps")).ToString("0", CultureInfo.InvariantCulture),
                Tables.Num(m, "redirectsToday").ToString("0", CultureInfo.InvariantCulture),
                (Tables.Num(m, "share") * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %",
                Tables.Num(m, "serialsBehind").ToString("0", CultureInfo.InvariantCulture),
                Tables.Bool(m, "healthy") ? "ok" : "FAIL " + Tables.Str(m, "healthReason"),
                QuotaRates(m),
                QuotaRunsOut(m),
            }));
        var outcomes = Tables.Render(["outcome", "today", "/s (network)", "/s (this redirector)", "unique addresses today", "download"],
            Items(v, "outcomes").Select(o => new[]
            {
                Tables.Str(o, "outcome"),
                Tables.Num(o, "today").ToString("0", CultureInfo.InvariantCulture),
                Tables.Num(o, "perSecond").ToString("0.0", CultureInfo.InvariantCulture),
                Tables.Num(o, "localPerSecond").ToString("0.0", CultureInfo.InvariantCulture),
                Tables.Num(o, "uniqueAddressesToday").ToString("0", CultureInfo.InvariantCulture),
                Tables.Bool(o, "download") ? "yes" : "",
            }));
        var files = Tables.Render(["file", "downloads today"], v.GetProperty("files").EnumerateArray().Select(Count));
        var countries = Tables.Render(["country", "downloads today"], v.GetProperty("countries").EnumerateArray().Select(Count));
        var kestrel = Tables.Render(["refused by Kestrel (this redirector, since start)", "count"], Items(v, "serverRejections").Select(Count));
        return string.Join('\n', head, outcomes, mirrors, files, countries, kestrel);
    }

    private static JsonElement[] Items(JsonElement v, string name) =>
        v.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array ? [.. list.EnumerateArray()] : [];

    private static string[] Count(JsonElement e) => [Tables.Str(e, "key"), Tables.Num(e, "count").ToString("0", CultureInfo.InvariantCulture)];

    private static string Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString() ?? "",
        JsonValueKind.Array => string.Join(",", e.EnumerateArray().Select(Text)),
        _ => e.GetRawText(),
    };
}
