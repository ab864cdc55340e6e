using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Downloads.Contracts.Manifests;
using Downloads.Redirector.Counting;
using Downloads.Redirector.Snapshots;

namespace Downloads.Bench;

/// <summary>
/// The redirector's index built from verified manifest bytes, two ways, in alternating rounds:
/// <b>old</b>, the whole document deserialised to a <see cref="Manifest"/> (as ManifestCodec.TryParse did before
/// the streaming reader) and the index built from that; <b>new</b>, <see cref="ManifestReader"/> feeding the index
/// builder file by file (what the redirector ships). For each: the managed bytes live at the pipeline's fullest
/// point (a full blocking collection at each checkpoint, the manifest bytes themselves not counted), the bytes
/// allocated and the time (a separate run without checkpoints).
/// </summary>
internal static class ManifestMemory
{
    public static void Compare(byte[] bytes, int rounds)
    {
        var files = 0;
        ManifestReader.TryRead(bytes, _ => files++, out _, out _);
        var old = new List<Figures>();
        var streamed = new List<Figures>();
        for (var round = 0; round < rounds; round++)
        {
            old.Add(Measure(bytes, Old));
            streamed.Add(Measure(bytes, New));
        }
        var (o, n) = (Median(old), Median(streamed));
        Console.WriteLine($"index from the manifest bytes ({files:N0} files, {bytes.Length / 1e6:F1} MB of JSON), median of {rounds} alternating rounds:");
        Console.WriteLine($"  old (JsonSerializer -> Manifest -> index): {o}");
        Console.WriteLine($"  new (ManifestReader -> index):             {n}");
        Console.WriteLine($"  new / old: peak live {(double)n.PeakLive / o.PeakLive:F2}, allocated {(double)n.Allocated / o.Allocated:F2}, time {n.Seconds / o.Seconds:F2}");
    }

    private readonly record struct Figures(long PeakLive, long Allocated, double Seconds)
    {
        public override string ToString() => $"peak live {PeakLive / 1e6,6:F1} MB, allocated {Allocated / 1e6,6:F1} MB, {Seconds * 1000,5:F0} ms";
    }

    private delegate ManifestIndex Pipeline(byte[] bytes, CounterRegistry counters, Action checkpoint);

    private static Figures Measure(byte[] bytes, Pipeline pipeline)
    {
        var (allocated, seconds) = Timed(bytes, pipeline);
        return new Figures(PeakLive(bytes, pipeline), allocated, seconds);
    }

    /// <summary>Each run in its own frame, so nothing of it is still rooted by a local when the next one measures.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Allocated, double Seconds) Timed(byte[] bytes, Pipeline pipeline)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var index = pipeline(bytes, new CounterRegistry(), static () => { });
        clock.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        GC.KeepAlive(index);
        return (allocated, clock.Elapsed.TotalSeconds);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long PeakLive(byte[] bytes, Pipeline pipeline)
    {
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        var index = pipeline(bytes, new CounterRegistry(), () => peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline));
        GC.KeepAlive(index);
        return peak;
    }

    /// <summary>Before: the parsed document held while the index is built from it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ManifestIndex Old(byte[] bytes, CounterRegistry counters, Action checkpoint)
    {
        // What ManifestCodec.TryParse was: the serializer, then checks that allocate nothing.
        var manifest = JsonSerializer.Deserialize(bytes, OldManifestJson.Default.Manifest)!;
        checkpoint();
        var builder = new ManifestIndexBuilder(counters);
        foreach (var file in manifest.Files)
        {
            var hashes = new byte[32 * (1 + file.Chunks.Count)];
            Convert.FromHexString(file.Sha256, hashes.AsSpan(0, 32), out _, out _);
            for (var i = 0; i < file.Chunks.Count; i++)
                Convert.FromHexString(file.Chunks[i], hashes.AsSpan(32 * (i + 1), 32), out _, out _);
            builder.Add(new ManifestEntry(file.Path, file.Size, file.ChangedAt, file.Modified, hashes));
        }
        checkpoint();
        var index = builder.Build(new ManifestHeader(manifest.Version, manifest.Serial, manifest.Published, manifest.ChunkSize));
        checkpoint();
        GC.KeepAlive(manifest);
        GC.KeepAlive(builder);
        return index;
    }

    /// <summary>Now: each file read from the bytes straight into the builder (as ManifestIndex.TryRead, with checkpoints).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ManifestIndex New(byte[] bytes, CounterRegistry counters, Action checkpoint)
    {
        var builder = new ManifestIndexBuilder(counters);
        if (!ManifestReader.TryRead(bytes, builder.Add, out var header, out var error))
            throw new InvalidOperationException(error);
        checkpoint();
        var index = builder.Build(header);
        checkpoint();
        GC.KeepAlive(builder);
        return index;
    }

    private static Figures Median(List<Figures> runs)
    {
        static T Mid<T>(IEnumerable<T> values) => values.Order().ElementAt(values.Count() / 2);
        return new Figures(Mid(runs.Select(r => r.PeakLive)), Mid(runs.Select(r => r.Allocated)), Mid(runs.Select(r => r.Seconds)));
    }
}

/// <summary>The serializer metadata ManifestCodec used to parse with (same naming), for the "old" pipeline only.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Manifest))]
internal sealed partial class OldManifestJson : JsonSerializerContext;
