using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace Kernels.Cli.Dashboard;

/// <summary>The dashboard's plots, drawn with ScottPlot and emitted as inline SVG (no network at view time).</summary>
public static class DashboardPlots
{
    /// <summary>Plot width in pixels.</summary>
    public const int Width = 640;

    /// <summary>Plot height in pixels.</summary>
    public const int Height = 330;

    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    private static readonly Color[] BaselineColors = [Colors.DimGray, Colors.DarkGray, Colors.LightGray];

    /// <summary>A bar of a grouped bar chart: its series (legend), its group (x tick) and value.</summary>
    public sealed record GroupedBar(string Series, string Group, double Value, bool Baseline);

    /// <summary>
    /// Grouped bars (groups on x, one colour per series) with a dashed reference line at <paramref name="reference"/>
    /// labelled <paramref name="referenceLabel"/>.
    /// </summary>
    public static string GroupedBars(string title, string yLabel, IReadOnlyList<GroupedBar> bars, double reference, string referenceLabel)
    {
        var plot = new Plot();
        var (groups, series) = AddBars(plot, bars, v => v);
        var line = plot.Add.HorizontalLine(reference);
        line.LinePattern = LinePattern.Dashed;
        line.Color = Colors.Red;
        line.LineWidth = 1.5f;
        line.LegendText = referenceLabel;
        double dataMax = bars.Where(b => double.IsFinite(b.Value)).Select(b => b.Value).DefaultIfEmpty(reference).Max();
        // Keep the reference line in view unless the bars would shrink to nothing (emulators at 1% of the roofline).
        bool offScale = dataMax < reference / 4;
        if (offScale) line.LegendText = referenceLabel + " (off scale)";
        Finish(plot, title, yLabel);
        double max = offScale ? dataMax : Math.Max(reference, dataMax);
        plot.Axes.SetLimits(-1, Math.Max(groups * (series + 1) - 1, 1), 0, max * 1.12);
        return Svg(plot);
    }

    /// <summary>
    /// Ratios as bars on a log10 axis that start at 1 (the baseline): faster than the baseline goes down, slower goes up,
    /// so 0.2x and 5x are the same length.
    /// </summary>
    public static string RatioBars(string title, string yLabel, IReadOnlyList<GroupedBar> bars, string referenceLabel)
    {
        var plot = new Plot();
        var (groups, series) = AddBars(plot, bars.Where(b => b.Value > 0).ToList(), Math.Log10);
        var line = plot.Add.HorizontalLine(0);
        line.LinePattern = LinePattern.Dashed;
        line.Color = Colors.Red;
        line.LineWidth = 1.5f;
        line.LegendText = referenceLabel;
        var logs = bars.Where(b => b.Value > 0 && double.IsFinite(b.Value)).Select(b => Math.Log10(b.Value)).DefaultIfEmpty(0).ToList();
        double low = Math.Min(logs.Min(), -0.3) - 0.1, high = Math.Max(logs.Max(), 0.3) + 0.1;
        var ticks = new List<Tick>();
        for (int exponent = (int)Math.Floor(low) - 1; exponent <= (int)Math.Ceiling(high); exponent++)
            foreach (double mantissa in new[] { 1.0, 2.0, 5.0 })
            {
                double value = mantissa * Math.Pow(10, exponent);
                double at = Math.Log10(value);
                if (at >= low && at <= high)
                    ticks.Add(new Tick(at, value.ToString(value < 1 ? "0.##" : "0", System.Globalization.CultureInfo.InvariantCulture) + "x"));
            }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        Finish(plot, title, yLabel);
        plot.Axes.SetLimits(-1, Math.Max(groups * (series + 1) - 1, 1), low, high);
        return Svg(plot);
    }

    private static (int Groups, int Series) AddBars(Plot plot, IReadOnlyList<GroupedBar> bars, Func<double, double> transform)
    {
        var groups = bars.Select(b => b.Group).Distinct().ToList();
        var series = bars.Select(b => (b.Series, b.Baseline)).Distinct().OrderBy(s => s.Baseline).ThenBy(s => s.Series, StringComparer.Ordinal).ToList();
        int width = series.Count + 1;
        int kernelIndex = 0, baselineIndex = 0;
        for (int s = 0; s < series.Count; s++)
        {
            var color = series[s].Baseline
                ? BaselineColors[baselineIndex++ % BaselineColors.Length]
                : Palette.GetColor(kernelIndex++);
            var items = new List<Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                var bar = bars.FirstOrDefault(b => b.Series == series[s].Series && b.Group == groups[g]);
                if (bar is null || !double.IsFinite(bar.Value)) continue;
                items.Add(new Bar { Position = g * width + s, Value = transform(bar.Value), FillColor = color, LineWidth = 0 });
            }
            if (items.Count == 0) continue;
            var plotted = plot.Add.Bars(items);
            plotted.LegendText = series[s].Series + (series[s].Baseline ? " (baseline)" : "");
        }
        var ticks = groups.Select((g, i) => new Tick(i * width + (series.Count - 1) / 2.0, g)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        return (groups.Count, series.Count);
    }

    /// <summary>A history line per series over run indices, with regression points circled in red.</summary>
    public static string History(string title, string yLabel, IReadOnlyList<string> runLabels,
        IReadOnlyList<(string Series, double?[] Values, bool[] Regressed)> lines)
    {
        var plot = new Plot();
        bool anyRegression = false;
        for (int s = 0; s < lines.Count; s++)
        {
            var (name, values, regressed) = lines[s];
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] is not { } v) continue;
                xs.Add(i);
                ys.Add(v);
            }
            if (xs.Count == 0) continue;
            var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            scatter.LegendText = name;
            scatter.Color = Palette.GetColor(s);
            scatter.LineWidth = 2;
            scatter.MarkerSize = 7;
            var rx = Enumerable.Range(0, values.Length).Where(i => regressed[i] && values[i] is not null).ToList();
            if (rx.Count > 0)
            {
                var markers = plot.Add.Markers(rx.Select(i => (double)i).ToArray(), rx.Select(i => values[i]!.Value).ToArray(),
                    MarkerShape.OpenCircle, 16, Colors.Red);
                markers.MarkerLineWidth = 2.5f;
                if (!anyRegression) markers.LegendText = "regression (fastest run > 10% and > spread slower than previous run)";
                anyRegression = true;
            }
        }
        var ticks = runLabels.Select((label, i) => new Tick(i, label)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        Finish(plot, title, yLabel);
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsX(-0.5, Math.Max(runLabels.Count - 0.5, 0.5));
        var limits = plot.Axes.GetLimits();
        plot.Axes.SetLimitsY(0, Math.Max(limits.Top * 1.15, 1e-6));
        return Svg(plot);
    }

    private static void Finish(Plot plot, string title, string yLabel)
    {
        plot.Title(title, size: 14);
        plot.YLabel(yLabel, size: 13);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
        plot.Axes.Left.TickLabelStyle.FontSize = 11;
        plot.Legend.FontSize = 10;
        plot.ShowLegend(Edge.Right);
    }

    private static string Svg(Plot plot)
    {
        string svg = plot.GetSvgXml(Width, Height);
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return start > 0 ? svg[start..] : svg;
    }
}
