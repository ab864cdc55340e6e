namespace Downloads.Testing;

/// <summary>Bytes a piece of code allocates on the calling thread.</summary>
public static class Allocations
{
    /// <summary>
    /// The fewest bytes <paramref name="body"/> allocated over up to <paramref name="rounds"/> runs (stopping at a run
    /// that allocated nothing). One run can catch a one-off runtime allocation on this thread (tiering, on-stack
    /// replacement) on a loaded box; an allocation per call shows in every run.
    /// </summary>
    public static long Fewest(Action body, int rounds = 3)
    {
        var fewest = long.MaxValue;
        for (var round = 0; round < rounds && fewest != 0; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            body();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }
}
