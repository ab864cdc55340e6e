using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Downloads.LaunchDay;

/// <summary>Time each request spends in the redirector's pipeline (first middleware to the end of the handler), apart from the load generator's own delays.</summary>
internal sealed class ServerTimes
{
    private readonly List<double> _ms = new(1 << 18);
    private readonly Dictionary<int, List<double>> _bySecond = [];

    /// <summary>Second of the run the timings are filed under (set by the load generator's clock).</summary>
    public Func<double> Clock { get; set; } = () => 0;

    public void Add(double ms)
    {
        var second = (int)Clock();
        lock (_ms)
        {
            _ms.Add(ms);
            if (!_bySecond.TryGetValue(second, out var list))
                _bySecond[second] = list = [];
            list.Add(ms);
        }
    }

    public IReadOnlyList<double> InSecond(int second)
    {
        lock (_ms)
            return _bySecond.TryGetValue(second, out var list) ? [.. list] : [];
    }

    public List<double> All()
    {
        lock (_ms)
            return [.. _ms];
    }
}

/// <summary>Puts a timing middleware in front of the redirector's pipeline, without touching the app.</summary>
internal sealed class ServerTiming(ServerTimes times) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, inner) =>
        {
            var start = Stopwatch.GetTimestamp();
            await inner(context);
            if (!context.Request.Path.StartsWithSegments("/-"))
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        });
        next(app);
    };
}
