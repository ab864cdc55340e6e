using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Staging;

/// <summary>Runs a staging pass at start and every <see cref="StagingOptions.PollInterval"/>.</summary>
internal sealed partial class StagingWorker(StagedCiphertexts staged, IOptions<StagingOptions> options, TimeProvider time, ILogger<StagingWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await staged.RunOnceAsync(stoppingToken);
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A bug must not stop the mirror serving; the next pass tries again.
                Log.Crashed(logger, ex);
                await Task.Delay(options.Value.PollInterval, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = Downloads.Mirror.MirrorEvents.StagingCrashed, Level = LogLevel.Error, Message = "Staging pass crashed; trying again at the next poll")]
        public static partial void Crashed(ILogger logger, Exception exception);
    }
}
