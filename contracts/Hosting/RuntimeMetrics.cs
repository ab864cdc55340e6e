using System.Globalization;
using Prometheus;

namespace Downloads.Contracts.Hosting;

/// <summary>
/// The process and runtime metrics every service exports (docs/ops.md, "Metrics"), all read just before a
/// scrape so the request path pays nothing: prometheus-net's own collector (<see cref="DotNetStats"/>:
/// <c>process_cpu_seconds_total</c>, <c>process_working_set_bytes</c>, <c>process_open_handles</c>,
/// <c>process_num_threads</c>, <c>dotnet_collection_count_total</c>, … as its Grafana dashboards expect),
/// plus what it lacks: the names of Prometheus' standard process collector (<c>process_resident_memory_bytes</c>,
/// <c>process_open_fds</c>, <c>process_max_fds</c>), and the runtime's GC and thread-pool figures named as
/// .NET's <c>System.Runtime</c> meter names them once exported to Prometheus (<c>dotnet_gc_*</c>,
/// <c>dotnet_thread_pool_*</c>). Not prometheus-net's meter or event-counter adapters: they export every
/// meter (ASP.NET Core's per-request ones too, which are then recorded on the request path), counters as
/// gauges, and a gauge named <c>…_total</c> that <c>promtool check metrics</c> rejects.
/// </summary>
public static class RuntimeMetrics
{
    private static readonly string[] Generations = ["gen0", "gen1", "gen2", "loh", "poh"];

    /// <summary>Registers the collectors on <paramref name="registry"/>.</summary>
    public static void Register(CollectorRegistry registry)
    {
        DotNetStats.Register(registry);
        var factory = Metrics.WithCustomRegistry(registry);
        var resident = factory.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
        var allocated = factory.CreateCounter("dotnet_gc_heap_total_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.");
        var pause = factory.CreateCounter("dotnet_gc_pause_time_seconds_total", "Time the garbage collector paused the process, in seconds.");
        var heap = factory.CreateGauge("dotnet_gc_last_collection_heap_size_bytes", "Managed heap size by generation after the last collection, in bytes.", ["gc_heap_generation"]);
        var committed = factory.CreateGauge("dotnet_gc_last_collection_memory_committed_size_bytes", "Memory committed by the garbage collector at the last collection, in bytes.");
        var threads = factory.CreateGauge("dotnet_thread_pool_threads", "Thread-pool threads that exist now (System.Runtime's dotnet.thread_pool.thread.count; promtool reserves _count for histograms).");
        var queued = factory.CreateGauge("dotnet_thread_pool_queue_length", "Work items queued to the thread pool and not yet started.");
        var completed = factory.CreateCounter("dotnet_thread_pool_work_item_count_total", "Work items the thread pool has completed.");
        var contentions = factory.CreateCounter("dotnet_monitor_lock_contentions_total", "Times a thread waited for a contended lock (Monitor).");
        var heapChildren = new Gauge.Child[Generations.Length];
        for (var i = 0; i < Generations.Length; i++)
            heapChildren[i] = heap.WithLabels(Generations[i]);

        // Linux only (the services' platform): the descriptor table and its limit under /proc.
        Gauge? openFds = null, maxFds = null;
        if (Directory.Exists("/proc/self/fd"))
        {
            openFds = factory.CreateGauge("process_open_fds", "Number of open file descriptors.");
            maxFds = factory.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");
        }

        registry.AddBeforeCollectCallback(() =>
        {
            resident.Set(Environment.WorkingSet);
            allocated.IncTo(GC.GetTotalAllocatedBytes(precise: false));
            pause.IncTo(GC.GetTotalPauseDuration().TotalSeconds);
            var info = GC.GetGCMemoryInfo();
            var generations = info.GenerationInfo;
            for (var i = 0; i < heapChildren.Length && i < generations.Length; i++)
                heapChildren[i].Set(generations[i].SizeAfterBytes);
            committed.Set(info.TotalCommittedBytes);
            threads.Set(ThreadPool.ThreadCount);
            queued.Set(ThreadPool.PendingWorkItemCount);
            completed.IncTo(ThreadPool.CompletedWorkItemCount);
            contentions.IncTo(Monitor.LockContentionCount);
            if (openFds is not null && maxFds is not null)
            {
                openFds.Set(OpenDescriptors());
                maxFds.Set(DescriptorLimit());
            }
        });
    }

    private static int OpenDescriptors()
    {
        var count = 0;
        try
        {
            foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
                count++;
        }
        catch (IOException)
        {
            return 0;
        }
        // Less the one the enumeration itself held open.
        return Math.Max(0, count - 1);
    }

    /// <summary>The soft limit on open files (<c>/proc/self/limits</c>: "Max open files  SOFT  HARD  files").</summary>
    private static double DescriptorLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                    continue;
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var soft) ? soft : 0;
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }
}
