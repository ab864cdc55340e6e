using ScottPlot;
using ScottPlot.Plottables;

namespace Downloads.LaunchDay;

/// <summary>The few ScottPlot steps every launch-day figure repeats: a plain line, a right-axis series, labels and the PNG.</summary>
internal static class Plots
{
    /// <summary>A line without markers, named in the legend.</summary>
    public static Scatter Line(Plot plot, double[] xs, double[] ys, string legend)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.MarkerSize = 0;
        line.LegendText = legend;
        return line;
    }

    /// <summary>Moves a series onto the right-hand axis.</summary>
    public static Scatter Right(Plot plot, Scatter line)
    {
        line.Axes.YAxis = plot.Axes.Right;
        return line;
    }

    /// <summary>Titles and labels the plot, puts the legend on the right and writes it as a PNG.</summary>
    public static void Save(Plot plot, string title, string xLabel, string yLabel, string path, int width, int height)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, width, height);
    }
}
