using System.Net;
using Downloads.Contracts.Manifests;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Downloads.Mirror.Sync;

/// <summary>
/// Every request to the upstream (origin or tier-1 mirror) goes through one Polly pipeline:
/// retry with exponential backoff and jitter, outside a circuit breaker (a dead upstream is not
/// hammered), outside a per-attempt timeout.
/// </summary>
public sealed partial class UpstreamClient
{
    /// <summary>Name of the HttpClient registered for the upstream.</summary>
    public const string HttpClientName = "upstream";

    private readonly HttpClient _http;
    private readonly long _maxManifestBytes;
    private readonly ILogger<UpstreamClient> _logger;

    /// <summary>Creates the client for the configured upstream.</summary>
    public UpstreamClient(IHttpClientFactory factory, IOptions<MirrorOptions> mirror, IOptions<SyncOptions> options, TimeProvider time, ILogger<UpstreamClient> logger)
    {
        _http = factory.CreateClient(HttpClientName);
        _http.BaseAddress = new Uri(mirror.Value.Upstream.TrimEnd('/') + "/");
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _maxManifestBytes = options.Value.MaxManifestBytes;
        _logger = logger;
        Pipeline = Build(options.Value, time, logger);
    }

    /// <summary>The upstream base URL.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>The resilience pipeline (shared so the circuit breaker sees every request).</summary>
    public ResiliencePipeline Pipeline { get; }

    private static ResiliencePipeline Build(SyncOptions options, TimeProvider time, ILogger logger)
    {
        var transient = new PredicateBuilder()
            .Handle<HttpRequestException>()
            .Handle<IOException>()
            .Handle<TimeoutRejectedException>()
            .Handle<UpstreamStatusException>()
            .Handle<CorruptChunkException>();
        return new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient.Handle<BrokenCircuitException>(),
                MaxRetryAttempts = Math.Max(1, options.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                OnRetry = args =>
                {
                    Log.Retrying(logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "?");
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.8,
                MinimumThroughput = 8,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = options.BreakDuration,
                OnOpened = args =>
                {
                    Log.CircuitOpened(logger, args.BreakDuration.TotalSeconds);
                    return default;
                },
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    /// <summary>
    /// Fetches a small document (manifest or signature) through the pipeline, capped with or without a
    /// length (<see cref="SyncOptions.MaxManifestBytes"/>; a signature at <see cref="ManifestDefaults.MaxSignatureBytes"/>):
    /// a longer one is refused, not retried.
    /// </summary>
    public ValueTask<byte[]> GetBytesAsync(string relative, CancellationToken cancellationToken) =>
        Pipeline.ExecuteAsync(async ct =>
        {
            using var response = await _http.GetAsync(relative, HttpCompletionOption.ResponseHeadersRead, ct);
            EnsureSuccess(response, relative);
            var max = relative.EndsWith(".sig", StringComparison.Ordinal) ? ManifestDefaults.MaxSignatureBytes : _maxManifestBytes;
            try
            {
                return await BoundedBody.ReadAsync(response.Content, max, relative, ct);
            }
            catch (BodyTooLargeException e)
            {
                throw new UpstreamMismatchException(e.Message);
            }
        }, cancellationToken);

    /// <summary>
    /// Fetches a small side document once, outside the resilience pipeline (no retry, not seen by the circuit breaker,
    /// so an upstream that lacks it never slows the sync): the body up to <paramref name="max"/> bytes, or null with
    /// the status or error in <paramref name="failure"/>.
    /// </summary>
    public async Task<(byte[]? Body, string? Failure)> TryGetOnceAsync(string relative, int max, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            using var response = await _http.GetAsync(relative, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
                return (null, $"upstream answered {(int)response.StatusCode} for {relative}");
            return (await BoundedBody.ReadAsync(response.Content, max, relative, timeout.Token), null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or BodyTooLargeException
            or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, $"{relative}: {e.Message}");
        }
    }

    /// <summary>
    /// Sends a ranged GET for <paramref name="path"/> guarded by <c>If-Range</c> with the file's
    /// strong ETag, so an upstream holding another version answers 200 instead of mixing versions.
    /// Not wrapped in the pipeline: the caller wraps the whole read of the body.
    /// </summary>
    public async Task<HttpResponseMessage> GetRangeAsync(ManifestFile file, long from, long toInclusive, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, EscapePath(file.Path));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(from, toInclusive);
        request.Headers.IfRange = new System.Net.Http.Headers.RangeConditionHeaderValue(new System.Net.Http.Headers.EntityTagHeaderValue($"\"{file.Sha256}\""));
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            EnsureSuccess(response, file.Path);
            if (response.StatusCode != HttpStatusCode.PartialContent)
                throw new UpstreamMismatchException($"upstream has another version of '{file.Path}' (answered {(int)response.StatusCode} to If-Range \"{file.Sha256[..12]}…\"); it may be behind or ahead of serial");
            var range = response.Content.Headers.ContentRange;
            if (range?.From != from || range.To != toInclusive)
                throw new UpstreamStatusException($"upstream answered range {range} for bytes {from}-{toInclusive} of '{file.Path}'");
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A plain GET whose body the caller reads and verifies (a staged ciphertext), from byte <paramref name="from"/> on when
    /// above 0; not wrapped in the pipeline. An upstream that ignores the range answers 200 with the whole body: the caller
    /// checks <see cref="HttpResponseMessage.StatusCode"/>. A 206 for another start is refused.
    /// </summary>
    public async Task<HttpResponseMessage> GetStreamAsync(string relative, long from, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, relative);
        if (from > 0)
            request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(from, null);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            EnsureSuccess(response, relative);
            if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != from)
                throw new UpstreamStatusException($"upstream answered range {response.Content.Headers.ContentRange} for bytes {from}- of {relative}");
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static void EnsureSuccess(HttpResponseMessage response, string what)
    {
        var code = (int)response.StatusCode;
        if (code is >= 200 and < 300)
            return;
        if (code >= 500 || code == 429 || code == 408)
            throw new UpstreamStatusException($"upstream answered {code} for {what}");
        throw new UpstreamMismatchException($"upstream answered {code} for {what}");
    }

    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private static partial class Log
    {
        [LoggerMessage(EventId = MirrorEvents.UpstreamRetrying, Level = LogLevel.Warning, Message = "Upstream request failed, retry {Attempt} in {DelayMs:0} ms: {Reason}")]
        public static partial void Retrying(ILogger logger, int attempt, double delayMs, string reason);

        [LoggerMessage(EventId = MirrorEvents.UpstreamCircuitOpened, Level = LogLevel.Error, Message = "Upstream circuit opened for {Seconds:0.#} s after repeated failures")]
        public static partial void CircuitOpened(ILogger logger, double seconds);
    }
}
