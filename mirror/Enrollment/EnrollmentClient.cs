using System.Net.Http.Json;
using System.Text;
using Downloads.Contracts.Hosting;
using Downloads.Contracts.Mirrors;
using Downloads.Mirror.Reporting;
using Polly;
using Polly.Retry;
using StackExchange.Redis;

namespace Downloads.Mirror.Enrollment;

/// <summary>
/// Decides which Redis credentials the mirror uses, enrolling first when it has to. Order:
/// a user already in <c>Redis:Configuration</c> (deployed by Ansible) wins; then credentials saved by
/// an earlier enrollment; then enrollment with <c>Enrollment:Token</c>; otherwise the configured
/// connection as is (local development: the mirror registers itself and stays pending).
/// Runs once at start-up, before anything connects (<see cref="EnrollingLifetime"/>).
/// </summary>
internal sealed partial class EnrollmentClient(MirrorOptions mirror, EnrollmentOptions options, ILogger log)
{
    /// <summary>Returns the Redis configuration string to connect with.</summary>
    public async Task<string> ResolveAsync(string configuration, CancellationToken cancellationToken)
    {
        var parsed = ConfigurationOptions.Parse(configuration);
        if (!string.IsNullOrEmpty(parsed.User))
        {
            LogConfiguredUser(log, mirror.Id, parsed.User);
            return configuration;
        }
        var saved = SavedCredentials.Load(mirror.DataDir);
        if (saved is null && !string.IsNullOrWhiteSpace(options.Token))
        {
            var identity = MirrorIdentity.NewKeyPair();
            var password = MirrorIdentity.NewPassword();
            saved = await EnrollAsync(identity.PublicKey, password, cancellationToken);
            // Both secrets are written owner-only from their first byte; neither ever left this host.
            await AtomicFile.WriteAllBytesAsync(IdentityKeyPath(mirror.DataDir), Encoding.ASCII.GetBytes(identity.PrivateKey + "\n"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite, cancellationToken);
            saved.Save(mirror.DataDir);
        }
        if (saved is null)
        {
            LogNoCredentials(log, mirror.Id);
            return configuration;
        }
        if (saved.Id != mirror.Id)
            throw new InvalidOperationException(
                $"{SavedCredentials.PathIn(mirror.DataDir)} holds credentials of mirror '{saved.Id}', not '{mirror.Id}'; fix Mirror:Id or delete the file and enroll again");
        if (saved.SharedUser || string.IsNullOrEmpty(saved.User))
        {
            LogSharedUser(log, mirror.Id);
            return configuration;
        }
        parsed.User = saved.User;
        parsed.Password = saved.Password;
        LogOwnUser(log, mirror.Id, saved.User);
        return parsed.ToString(includePassword: true);
    }

    /// <summary>File in the data folder holding the mirror's Ed25519 private key (base64 seed), mode 0600.</summary>
    public const string IdentityKeyFile = "mirror-identity.key";

    /// <summary>Path of the identity key in <paramref name="dataDir"/>.</summary>
    public static string IdentityKeyPath(string dataDir) => Path.Combine(dataDir, IdentityKeyFile);

    private async Task<SavedCredentials> EnrollAsync(string publicKey, string password, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Redirector))
            throw new InvalidOperationException("Enrollment:Token is set but Enrollment:Redirector is not; set it to the redirector's base URL");
        var url = EnrollUrl(options.Redirector);
        var request = new EnrollRequest
        {
            Id = mirror.Id,
            Token = options.Token!.Trim(),
            Info = MirrorInfo.From(mirror).ToDictionary(f => f.Key, f => f.Value),
            PublicKey = publicKey,
            PasswordSha256 = MirrorIdentity.PasswordSha256(password),
        };
        using var http = new HttpClient { Timeout = options.Timeout };
        return await Retry(url).ExecuteAsync(async token =>
        {
            using var response = await http.PostAsJsonAsync(url, request, token);
            var body = await response.Content.ReadAsStringAsync(token);
            if (!response.IsSuccessStatusCode)
            {
                // 4xx: the token is wrong, used or expired, or the id is taken; retrying will not help.
                if ((int)response.StatusCode is >= 400 and < 500)
                    throw new InvalidOperationException($"Enrollment of mirror '{mirror.Id}' at {url} was refused ({(int)response.StatusCode}): {OneLine(body)}. Ask ops for a new token.");
                throw new HttpRequestException($"{(int)response.StatusCode} {OneLine(body)}");
            }
            var answer = System.Text.Json.JsonSerializer.Deserialize<EnrollResponse>(body, System.Text.Json.JsonSerializerOptions.Web)
                ?? throw new InvalidOperationException($"Enrollment answer from {url} was empty");
            LogEnrolled(log, mirror.Id, url.ToString(), answer.Status);
            return new SavedCredentials
            {
                Id = mirror.Id, User = answer.User, Password = answer.SharedUser ? null : password, SharedUser = answer.SharedUser, PublicKey = publicKey,
            };
        }, cancellationToken);
    }

    /// <summary>
    /// <see cref="EnrollmentOptions.Attempts"/> attempts, 1 s, 2 s, … apart (the redirector may be restarting),
    /// for failures another attempt may cure: no answer, a timeout, a 5xx. A refusal (4xx) and a stop are final.
    /// </summary>
    private ResiliencePipeline Retry(Uri url)
    {
        if (options.Attempts <= 1)
            return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = options.Attempts - 1,
            BackoffType = DelayBackoffType.Linear,
            Delay = TimeSpan.FromSeconds(1),
            UseJitter = false,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is HttpRequestException
                || (args.Outcome.Exception is TaskCanceledException && !args.Context.CancellationToken.IsCancellationRequested)),
            OnRetry = args =>
            {
                LogRetry(log, mirror.Id, url.ToString(), args.Outcome.Exception?.Message ?? "", args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    internal static Uri EnrollUrl(string redirector)
    {
        var baseUrl = redirector.TrimEnd('/');
        return new Uri(baseUrl.EndsWith("/-/api/enroll", StringComparison.Ordinal) ? baseUrl : baseUrl + "/-/api/enroll");
    }

    private static string OneLine(string s)
    {
        var line = s.ReplaceLineEndings(" ");
        return line.Length > 300 ? line[..300] : line;
    }

    [LoggerMessage(EventId = MirrorEvents.ConfiguredUser, Level = LogLevel.Information, Message = "Mirror {Id} uses the Redis user {User} from Redis:Configuration; enrollment skipped")]
    private static partial void LogConfiguredUser(ILogger logger, string id, string user);

    [LoggerMessage(EventId = MirrorEvents.NoCredentials, Level = LogLevel.Warning, Message = "Mirror {Id} has no enrollment token and no saved credentials: it registers itself with the configured Redis connection and stays pending until ops approve it")]
    private static partial void LogNoCredentials(ILogger logger, string id);

    [LoggerMessage(EventId = MirrorEvents.SharedUser, Level = LogLevel.Warning, Message = "Mirror {Id}: the store has no per-key ACL, so mirrors share one Redis user and can write each other's keys (use Redis >= 6 in production)")]
    private static partial void LogSharedUser(ILogger logger, string id);

    [LoggerMessage(EventId = MirrorEvents.OwnUser, Level = LogLevel.Information, Message = "Mirror {Id} connects to Redis as its own user {User}")]
    private static partial void LogOwnUser(ILogger logger, string id, string user);

    [LoggerMessage(EventId = MirrorEvents.Enrolled, Level = LogLevel.Information, Message = "Mirror {Id} enrolled at {Url}; status {Status}")]
    private static partial void LogEnrolled(ILogger logger, string id, string url, string status);

    [LoggerMessage(EventId = MirrorEvents.EnrollmentRetry, Level = LogLevel.Warning, Message = "Mirror {Id}: enrollment at {Url} failed ({Reason}), attempt {Attempt}; retrying")]
    private static partial void LogRetry(ILogger logger, string id, string url, string reason, int attempt);
}
