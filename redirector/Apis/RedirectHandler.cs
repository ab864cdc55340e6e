using System.Net;
using System.Text;
using Downloads.Redirector.Clients;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Geo;
using Downloads.Redirector.Metrics;
using Downloads.Redirector.Selection;
using Downloads.Redirector.Snapshots;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Downloads.Redirector.Apis;

/// <summary>
/// Answers <c>GET|HEAD /{path}</c>. The redirect path reads the current snapshot once, locates the
/// client in memory and writes headers computed mostly in advance: no I/O, no lock.
/// </summary>
internal sealed class RedirectHandler
{
    private readonly SnapshotHolder _holder;
    private readonly MirrorSelector _selector;
    private readonly ClientAddressResolver _clients;
    private readonly RequestCounter _count;
    private readonly CounterRegistry _counters;
    private readonly RedirectorMetrics _metrics;
    private readonly RedirectorOptions _options;
    private readonly Downloads.Contracts.Manifests.PinnedKeys _keys;
    private readonly string[] _fallbacks;

    [ThreadStatic]
    private static StringBuilder? _link;

    public RedirectHandler(SnapshotHolder holder, MirrorSelector selector, ClientAddressResolver clients,
        RequestCounter count, CounterRegistry counters, RedirectorMetrics metrics, IOptions<RedirectorOptions> options)
    {
        _holder = holder;
        _selector = selector;
        _clients = clients;
        _count = count;
        _counters = counters;
        _metrics = metrics;
        _options = options.Value;
        _keys = _options.Keys;
        var fallbacks = new List<string>();
        foreach (var f in _options.Fallbacks)
        {
            if (!string.IsNullOrWhiteSpace(f))
                fallbacks.Add(f.Trim().TrimEnd('/'));
        }
        fallbacks.Add(_options.Origin.TrimEnd('/'));
        _fallbacks = [.. fallbacks];
    }

    public RoutingSnapshot Snapshot => _holder.Current;

    public MirrorSelector Selector => _selector;

    public RedirectorOptions Options => _options;

    /// <summary>Base URLs used when no mirror qualifies: the configured fallbacks, then the origin.</summary>
    public IReadOnlyList<string> Fallbacks => _fallbacks;

    /// <summary>Answers the request and records its duration (<see cref="RedirectorMetrics.Request"/>): no allocation when it completes synchronously, as a redirect does.</summary>
    public Task HandleAsync(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var answer = AnswerAsync(context);
        if (!answer.IsCompleted)
            return ObserveWhenDoneAsync(answer, started);
        _metrics.Request.Observe(System.Diagnostics.Stopwatch.GetTimestamp() - started);
        return answer;
    }

    private async Task ObserveWhenDoneAsync(Task answer, long started)
    {
        try
        {
            await answer;
        }
        finally
        {
            _metrics.Request.Observe(System.Diagnostics.Stopwatch.GetTimestamp() - started);
        }
    }

    /// <summary>Every answer is counted by what it got (<see cref="RequestCounter"/>), once, where it is decided.</summary>
    private Task AnswerAsync(HttpContext context)
    {
        var request = context.Request;
        var decoded = request.Path.Value ?? "";
        if (decoded.StartsWith("/-/", StringComparison.Ordinal))
            return Refuse(context, Outcome.NotFound, StatusCodes.Status404NotFound, "no such service endpoint");
        var raw = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        if (RequestPath.Problem(raw, decoded) is { } problem)
            return Refuse(context, Outcome.BadRequest, StatusCodes.Status400BadRequest, problem);

        var snapshot = _holder.Current;
        var mode = Mode.Redirect;
        IPAddress? fromIp = null;
        if (request.QueryString.HasValue)
        {
            var query = request.Query;
            if (query.ContainsKey("metalink"))
                mode = Mode.Metalink;
            else if (query.ContainsKey("json"))
                mode = Mode.Json;
            else if (query.ContainsKey("mirrorlist"))
                mode = Mode.MirrorList;
            // Ops' "as seen from" for the mirror list and its JSON only: honoured on a redirect it would
            // move real traffic and skew the counts at anyone's request.
            if ((mode == Mode.Json || mode == Mode.MirrorList)
                && query.TryGetValue("fromip", out var from) && !IPAddress.TryParse(from.ToString(), out fromIp))
                return Refuse(context, Outcome.BadRequest, StatusCodes.Status400BadRequest, "fromip is not an IP address");
        }

        var path = decoded.AsSpan(1);
        if (!snapshot.Index.FilesBySpan.TryGetValue(path, out var file))
        {
            if (path.EndsWith(".meta4", StringComparison.Ordinal)
                && snapshot.Index.FilesBySpan.TryGetValue(path[..^".meta4".Length], out file))
                mode = Mode.Metalink;
            else if (ChecksumsApi.TryWrite(context, snapshot.Index, path, _keys.KeyOf(snapshot.Index.VerifiedBy)) is { } checksum)
            {
                CountUnlocated(context, Outcome.Checksums);
                return checksum;
            }
            else
                return Refuse(context, Outcome.NotFound, StatusCodes.Status404NotFound,
                    !snapshot.Index.IsLoaded ? "no manifest loaded yet" : "not in the manifest");
        }

        // Counted under the requester's own address and country; fromip only changes whom the list is for.
        var address = _clients.Resolve(context);
        var client = _count.Locate(address);
        var https = _clients.IsHttps(context);
        if (mode != Mode.Redirect)
        {
            if (mode == Mode.Metalink)
            {
                _count.Count(Outcome.Metalink, address, client.Country, file);
                return MetalinkApi.WriteAsync(context, this, snapshot, file, client, https);
            }
            _count.Count(Outcome.MirrorList, address, client.Country, file);
            var asked = fromIp ?? address;
            var place = fromIp is null ? client : _count.Locate(fromIp);
            return MirrorListApi.WriteAsync(context, this, snapshot, file, place, asked, https, mode == Mode.Json);
        }

        Span<int> picks = stackalloc int[_options.MaxAlternates];
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Only a GET is a download that will load the mirror; a HEAD answered the same way adds nothing.
        var get = HttpMethods.IsGet(request.Method);
        var count = _selector.Select(snapshot, file, client, https, picks, account: get);
        _metrics.Selection.Observe(System.Diagnostics.Stopwatch.GetTimestamp() - started);

        var response = context.Response;
        var headers = response.Headers;
        response.StatusCode = StatusCodes.Status302Found;
        headers.CacheControl = "private, no-store";
        headers["Digest"] = file.Digest;
        headers["Repr-Digest"] = file.ReprDigest;
        Outcome outcome;
        if (count == 0)
        {
            headers.Location = string.Concat(_fallbacks[0], "/", file.EscapedPath);
            if (_fallbacks.Length > 1)
                headers.Link = FallbackLink(file);
            outcome = Outcome.Fallback;
            if (get)
                _counters.Mirror(CounterRegistry.FallbackId).Increment();
        }
        else
        {
            var target = snapshot.Mirrors[picks[0]];
            headers.Location = string.Concat(target.BaseUrl(https), "/", file.EscapedPath);
            if (count > 1)
                headers.Link = MirrorLink(snapshot, picks[1..count], file, https);
            outcome = Outcome.Mirror;
            if (get)
                target.Redirects.Increment();
        }
        _count.Count(get ? outcome : Outcome.Head, address, client.Country, file);
        return Task.CompletedTask;
    }

    /// <summary>An error answer, counted by outcome, country and address (no file: the path is not one).</summary>
    private Task Refuse(HttpContext context, Outcome outcome, int status, string reason)
    {
        CountUnlocated(context, outcome);
        return Problems.Write(context, status, reason);
    }

    private void CountUnlocated(HttpContext context, Outcome outcome)
    {
        var address = _clients.Resolve(context);
        _count.Count(outcome, address, _count.Locate(address).Country);
    }

    /// <summary><c>Link: &lt;url&gt;; rel=duplicate; pri=2; geo=gb, …</c> (RFC 6249) for the alternates.</summary>
    /// <remarks>
    /// Written straight into a per-thread buffer and copied once into the header's string: the parts are
    /// known strings and a one- or two-digit priority, so no builder is needed (it showed as 2–4% of the
    /// redirector's samples under load, bench/README.md).
    /// </remarks>
    private static string MirrorLink(RoutingSnapshot snapshot, ReadOnlySpan<int> alternates, FileEntry file, bool https)
    {
        var path = file.EscapedPath;
        var length = 0;
        for (var i = 0; i < alternates.Length; i++)
        {
            var mirror = snapshot.Mirrors[alternates[i]];
            length += LinkSeparator.Length + 1 + mirror.BaseUrl(https).Length + 1 + path.Length + LinkRelation.Length + 2
                + (mirror.CountryLower.Length > 0 ? LinkGeo.Length + mirror.CountryLower.Length : 0);
        }
        var buffer = _linkBuffer is { } b && b.Length >= length ? b : _linkBuffer = new char[Math.Max(length, 1024)];
        var at = 0;
        for (var i = 0; i < alternates.Length; i++)
        {
            var mirror = snapshot.Mirrors[alternates[i]];
            if (i > 0)
                Put(buffer, ref at, LinkSeparator);
            buffer[at++] = '<';
            Put(buffer, ref at, mirror.BaseUrl(https));
            buffer[at++] = '/';
            Put(buffer, ref at, path);
            Put(buffer, ref at, LinkRelation);
            (i + 2).TryFormat(buffer.AsSpan(at), out var digits, default, System.Globalization.CultureInfo.InvariantCulture);
            at += digits;
            if (mirror.CountryLower.Length > 0)
            {
                Put(buffer, ref at, LinkGeo);
                Put(buffer, ref at, mirror.CountryLower);
            }
        }
        return new string(buffer, 0, at);
    }

    private const string LinkSeparator = ", ";
    private const string LinkRelation = ">; rel=duplicate; pri=";
    private const string LinkGeo = "; geo=";

    [ThreadStatic]
    private static char[]? _linkBuffer;

    private static void Put(char[] buffer, ref int at, string text)
    {
        text.CopyTo(buffer.AsSpan(at));
        at += text.Length;
    }

    private string FallbackLink(FileEntry file)
    {
        var sb = _link ??= new StringBuilder(512);
        sb.Clear();
        for (var i = 1; i < _fallbacks.Length; i++)
        {
            if (i > 1)
                sb.Append(", ");
            sb.Append('<').Append(_fallbacks[i]).Append('/').Append(file.EscapedPath).Append(">; rel=duplicate; pri=").Append(i + 1);
        }
        return sb.ToString();
    }

    private enum Mode
    {
        Redirect,
        MirrorList,
        Json,
        Metalink,
    }
}
