using System.Globalization;
using System.Threading.RateLimiting;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Identity;
using Downloads.Contracts.Staging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Prometheus;

namespace Downloads.Origin.Limits;

/// <summary>
/// Sheds file requests the origin cannot carry, and keeps part of its capacity for mirrors. A request signed
/// by an approved mirror (<see cref="RequestSignature"/>) may use all of <see cref="OriginLimitsOptions.MaxRequests"/>;
/// a public one only what is left above <see cref="OriginLimitsOptions.ReservedForMirrors"/>, and at most
/// <see cref="OriginLimitsOptions.PerClient"/> at once from one client. Refusals: 429 for a client over its own
/// limit, 503 when the origin is full, both with Retry-After and a one-line reason. Permits are held until the
/// response has been sent (a file download holds one for its whole transfer). An admitted request's body is paced
/// and counted by <see cref="OriginPacer"/> by who asked: a verified mirror's transfer makes public ones keep to
/// their share of the link.
/// </summary>
internal sealed partial class OriginAdmission : IDisposable
{
    private const string Mirror = "mirror";
    private const string Public = "public";

    private readonly OriginLimitsOptions _options;
    private readonly MirrorKeyDirectory _keys;
    private readonly NonceCache _nonces;
    private readonly OriginPacer _pacer;
    private readonly TimeProvider _time;
    private readonly ILogger<OriginAdmission> _log;
    private readonly PartitionedRateLimiter<Request> _capacity;
    private readonly PartitionedRateLimiter<Request> _perClient;
    private readonly string _retryAfter;
    private readonly Counter _outcomes;
    private readonly Counter _signatures;
    private long _refused;

    public OriginAdmission(IOptions<OriginLimitsOptions> options, MirrorKeyDirectory keys, NonceCache nonces, OriginPacer pacer,
        TimeProvider time, IMetricFactory metrics, ILogger<OriginAdmission> log)
    {
        _options = options.Value;
        _keys = keys;
        _nonces = nonces;
        _pacer = pacer;
        _time = time;
        _log = log;
        _retryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        var max = _options.MaxRequests;
        var publicMax = max - _options.ReservedForMirrors;
        // Everyone counts against the total; public requests also against the public share.
        _capacity = PartitionedRateLimiter.CreateChained(
            PartitionedRateLimiter.Create<Request, int>(_ => RateLimitPartition.GetConcurrencyLimiter(0, _ => Concurrency(max))),
            PartitionedRateLimiter.Create<Request, string>(r => r.MirrorId is null
                ? RateLimitPartition.GetConcurrencyLimiter(Public, _ => Concurrency(publicMax))
                : RateLimitPartition.GetNoLimiter(Mirror)));
        var perClient = _options.PerClient;
        _perClient = PartitionedRateLimiter.Create<Request, UInt128>(r => r.MirrorId is null && perClient > 0
            ? RateLimitPartition.GetConcurrencyLimiter(r.Client, _ => Concurrency(perClient))
            : RateLimitPartition.GetNoLimiter(MirrorsPartition));
        _outcomes = metrics.CreateCounter("downloads_origin_admission_total",
            "File requests by who asked (mirror: a valid mirror signature) and what they got (served, per_client: 429, full: 503).",
            ["client", "outcome"]);
        _signatures = metrics.CreateCounter("downloads_origin_signature_refused_total",
            "Requests with mirror signature headers that did not verify, by reason; they are served as public requests.", ["reason"]);
    }

    /// <summary>
    /// The per-client limiter's key for signed mirror requests (no limit). All ones: no <see cref="AddressKey"/> is
    /// (an IPv6 key has its low 64 bits zero, a mapped IPv4 one its high 80), while 0 is the key of a client without
    /// an address (a Unix socket) and of <c>::</c>, which must not share the mirrors' unlimited partition.
    /// </summary>
    private static readonly UInt128 MirrorsPartition = UInt128.MaxValue;

    private static ConcurrencyLimiterOptions Concurrency(int permits) =>
        new() { PermitLimit = Math.Max(permits, 1), QueueLimit = 0, QueueProcessingOrder = QueueProcessingOrder.OldestFirst };

    /// <summary>
    /// The middleware: admits, refuses, or passes service endpoints straight on. Staged ciphertext is a file like any
    /// other (its ids are public in the signed staging list): admitted, paced and counted the same. With limits off
    /// (<see cref="OriginLimitsOptions.MaxRequests"/> 0) nothing is refused or paced, but the bytes are still counted.
    /// </summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/-", StringComparison.Ordinal) && !path.StartsWithSegments(StagedPrefix, StringComparison.Ordinal))
            return next(context);
        AddressKey.TryGet(context.Connection.RemoteIpAddress, out var client);
        var request = new Request(Identify(context.Request), client);
        var who = request.MirrorId is null ? Public : Mirror;

        if (_options.MaxRequests > 0)
        {
            var (outcome, permit) = Admit(request);
            if (outcome == Outcome.PerClient)
            {
                return Refuse(context, who, "per_client", StatusCodes.Status429TooManyRequests,
                    $"Too many downloads from your address at once ({_options.PerClient} max); retry in {_retryAfter} s, or use a mirror.");
            }
            if (outcome == Outcome.Full)
            {
                return Refuse(context, who, "full", StatusCodes.Status503ServiceUnavailable,
                    $"The origin is at capacity; retry in {_retryAfter} s, or use a mirror.");
            }
            context.Response.RegisterForDispose(permit!);
            _outcomes.WithLabels(who, "served").Inc();
        }
        if (request.MirrorId is null)
        {
            context.Features.Set(_pacer.Public);
        }
        else
        {
            // While it lasts, public downloads keep to their share of the link (OriginPacer).
            _pacer.MirrorStarted();
            context.Response.OnCompleted(MirrorEnded, _pacer);
            context.Features.Set(_pacer.Mirror);
        }
        return next(context);
    }

    private static readonly PathString StagedPrefix = StagingDefaults.CiphertextPrefix.TrimEnd('/');

    private static readonly Func<object, Task> MirrorEnded = static pacer =>
    {
        ((OriginPacer)pacer).MirrorEnded();
        return Task.CompletedTask;
    };

    /// <summary>
    /// The decision alone (limits on): a permit to hold until the response has been sent, or why not. The launch-day
    /// simulator's origin model (bench/launchday/Model) admits its transfers through this too.
    /// </summary>
    internal (Outcome Outcome, Permit? Permit) Admit(Request request)
    {
        var own = _perClient.AttemptAcquire(request);
        if (!own.IsAcquired)
        {
            own.Dispose();
            return (Outcome.PerClient, null);
        }
        var share = _capacity.AttemptAcquire(request);
        if (!share.IsAcquired)
        {
            share.Dispose();
            own.Dispose();
            return (Outcome.Full, null);
        }
        return (Outcome.Served, new Permit(own, share));
    }

    private string? Identify(HttpRequest request)
    {
        var input = request.Headers[RequestSignature.InputHeader];
        var signature = request.Headers[RequestSignature.SignatureHeader];
        if (input.Count == 0 && signature.Count == 0)
            return null;
        if (input.Count != 1 || signature.Count != 1)
        {
            _signatures.WithLabels("malformed").Inc();
            return null;
        }
        var id = RequestSignature.Verify(request.Method, request.Host.Value ?? "", request.Path.Value ?? "/", request.QueryString.Value ?? "",
            input[0], signature[0], _keys.Find, _time.GetUtcNow(), _nonces, out var reason);
        if (id is null)
            _signatures.WithLabels(RequestSignature.ReasonLabel(reason)).Inc();
        return id;
    }

    private Task Refuse(HttpContext context, string who, string outcome, int status, string message)
    {
        _outcomes.WithLabels(who, outcome).Inc();
        // The first refusal and then every 1000th, not one line per request during a surge.
        if (Interlocked.Increment(ref _refused) % 1000 == 1)
            LogShedding(_log, outcome, _options.MaxRequests, _options.ReservedForMirrors, _options.PerClient);
        context.Response.StatusCode = status;
        context.Response.Headers[HeaderNames.RetryAfter] = _retryAfter;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n");
    }

    public void Dispose()
    {
        _capacity.Dispose();
        _perClient.Dispose();
    }

    [LoggerMessage(EventId = OriginEvents.Shedding, Level = LogLevel.Warning,
        Message = "Shedding file requests ({Outcome}): Limits:MaxRequests {Max}, ReservedForMirrors {Reserved}, PerClient {PerClient}; logged once per 1000 refusals")]
    private static partial void LogShedding(ILogger logger, string outcome, int max, int reserved, int perClient);

    /// <summary>What the limiters partition by.</summary>
    internal readonly record struct Request(string? MirrorId, UInt128 Client);

    /// <summary>What <see cref="Admit"/> decided: served (429 over the client's own limit, 503 when full).</summary>
    internal enum Outcome
    {
        Served,
        PerClient,
        Full,
    }

    /// <summary>The client's and the capacity's permits, released together.</summary>
    internal sealed class Permit(RateLimitLease own, RateLimitLease share) : IDisposable
    {
        public void Dispose()
        {
            share.Dispose();
            own.Dispose();
        }
    }
}
