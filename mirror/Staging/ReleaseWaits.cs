using Downloads.Mirror.Storage;
using Microsoft.Extensions.Options;

namespace Downloads.Mirror.Staging;

/// <summary>What a request for a path the live tree lacks gets from <see cref="ReleaseWaits.WaitAsync"/>.</summary>
/// <param name="Released">The path is a released file this mirror decrypts from its staged ciphertext.</param>
/// <param name="File">Its verified plaintext to serve, or null when it did not become ready in time (or did not check out).</param>
public readonly record struct ReleaseWait(bool Released, LiveFile? File);

/// <summary>
/// The first seconds of a staged release on this mirror. Redirectors send clients for a just-released file to the mirrors
/// that hold its ciphertext before those report the new serial (docs/launch-day.md, "The first seconds"); here such a
/// request waits, without a thread, until the sync engine has decrypted and verified the file, then gets it at once,
/// ahead of the rest of its serial: the plaintext is checked against the signed manifest of that serial, so nothing
/// unverified is served, and nothing waits for unrelated downloads. Only paths a pass named as released (after the
/// release: no name is known here before it) wait, or, between the announcement of a newer serial and the pass naming
/// them, any miss while staged ciphertext is held; a miss that turns out not to be released is the usual 404, word for
/// word. Waits are bounded by <see cref="StagingOptions.ReleaseWait"/>; a file not ready by then gets 503 with Retry-After.
/// </summary>
public sealed class ReleaseWaits
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskCompletionSource<LiveFile?>> _paths = new(StringComparer.Ordinal);
    private readonly LiveTree _live;
    private readonly StagedCiphertexts _staged;
    private readonly IOptions<StagingOptions> _options;
    private readonly TimeProvider _time;
    private TaskCompletionSource? _plan;

    /// <summary>Creates the waits and follows <paramref name="live"/>: a path goes from here once its serial is live.</summary>
    public ReleaseWaits(LiveTree live, StagedCiphertexts staged, IOptions<StagingOptions> options, TimeProvider time)
    {
        _live = live;
        _staged = staged;
        _options = options;
        _time = time;
        live.Published += OnPublished;
    }

    /// <summary>
    /// A serial newer than the live one was announced: while staged ciphertext is held, misses wait until the pass says
    /// which files it releases (<see cref="Planned"/>), since the redirector may learn of the release as early as we do.
    /// </summary>
    public void Announced(long serial)
    {
        if (serial <= _live.Current.Serial || _staged.Held.Count == 0)
            return;
        lock (_lock)
            _plan ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A pass decided which released files it decrypts here: they wait until ready; everything else misses as usual.</summary>
    public void Planned(IEnumerable<string> paths)
    {
        TaskCompletionSource? plan;
        lock (_lock)
        {
            foreach (var path in paths)
            {
                if (!_paths.ContainsKey(path))
                    _paths[path] = new TaskCompletionSource<LiveFile?>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            (plan, _plan) = (_plan, null);
        }
        plan?.TrySetResult();
    }

    /// <summary>A released file is decrypted and verified: served from now on, before the rest of its serial goes live.</summary>
    public void Ready(string path, LiveFile file) => Complete(path, file, remove: false);

    /// <summary>A released file did not check out (it is downloaded instead): its waiters get 503 with Retry-After.</summary>
    public void Failed(string path) => Complete(path, null, remove: true);

    /// <summary>A pass ended: no plan is pending any more, and files it did not make ready stop waiting.</summary>
    public void PassEnded()
    {
        List<TaskCompletionSource<LiveFile?>> failed = [];
        TaskCompletionSource? plan;
        lock (_lock)
        {
            (plan, _plan) = (_plan, null);
            foreach (var (path, wait) in _paths)
            {
                if (!wait.Task.IsCompleted)
                {
                    failed.Add(wait);
                    _paths.Remove(path);
                }
            }
        }
        plan?.TrySetResult();
        foreach (var wait in failed)
            wait.TrySetResult(null);
    }

    /// <summary>
    /// For a path the live tree lacks: not released (answer as the live tree says), or the released file once ready,
    /// or released but not ready within <see cref="StagingOptions.ReleaseWait"/>. Completes synchronously when nothing is pending.
    /// </summary>
    public async ValueTask<ReleaseWait> WaitAsync(string path, CancellationToken cancellationToken)
    {
        Task? plan;
        TaskCompletionSource<LiveFile?>? wait;
        lock (_lock)
        {
            _paths.TryGetValue(path, out wait);
            plan = _plan?.Task;
        }
        if (wait is null && plan is null)
            return default;
        var started = _time.GetTimestamp();
        var limit = _options.Value.ReleaseWait;
        try
        {
            if (wait is null)
            {
                await plan!.WaitAsync(limit, _time, cancellationToken);
                lock (_lock)
                    _paths.TryGetValue(path, out wait);
                if (wait is null)
                    return default;
            }
            var left = limit - _time.GetElapsedTime(started);
            var file = await wait.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time, cancellationToken);
            return new ReleaseWait(true, file is not null && File.Exists(file.PhysicalPath) ? file : null);
        }
        catch (TimeoutException)
        {
            return new ReleaseWait(wait is not null, null);
        }
    }

    private void Complete(string path, LiveFile? file, bool remove)
    {
        TaskCompletionSource<LiveFile?>? wait;
        lock (_lock)
        {
            if (!_paths.TryGetValue(path, out wait))
                return;
            if (remove)
                _paths.Remove(path);
        }
        wait.TrySetResult(file);
    }

    private void OnPublished(LiveSnapshot snapshot)
    {
        lock (_lock)
        {
            foreach (var (path, wait) in _paths)
            {
                // Live now: served from the tree like any file; a waiter still pending gets it from there.
                if (snapshot.Files.TryGetValue(path, out var file) && file.RetiredUntil is null)
                {
                    wait.TrySetResult(file);
                    _paths.Remove(path);
                }
            }
        }
    }
}
