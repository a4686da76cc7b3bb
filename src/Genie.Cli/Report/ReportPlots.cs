using System.Text.Json;
using Genie.Models.Evaluation;
using ScottPlot;

namespace Genie.Cli.Report;

/// <summary>The evaluation report's plots, drawn with ScottPlot and returned as PNG bytes to embed in the page.</summary>
public static class ReportPlots
{
    private const int Width = 640, Height = 360;

    /// <summary>Δt PSNR against t (1-based: frame 1 is the prompt, where both rollouts show the same decoded frame).</summary>
    public static byte[] DeltaPsnr(double[] delta)
    {
        var plot = PlotFonts.NewPlot();
        var ts = Enumerable.Range(1, delta.Length).Select(t => (double)t).ToArray();
        plot.Add.Scatter(ts, delta);
        plot.Add.HorizontalLine(0, color: Colors.Gray);
        plot.Title("Δt PSNR = PSNR(inferred actions) − PSNR(random actions)");
        plot.XLabel("frame t (1 = prompt)");
        plot.YLabel("Δt PSNR (dB)");
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>Mean PSNR per frame of the rollouts with inferred and with random actions, and of next frames sampled from real context.</summary>
    public static byte[] PsnrCurves(double[] inferred, double[] random, double[] realContext)
    {
        var plot = PlotFonts.NewPlot();
        var ts = Enumerable.Range(1, inferred.Length).Select(t => (double)t).ToArray();
        // Frame 1 is the decoded prompt in every rollout; its PSNR is the tokenizer's and would squash the scale.
        var shown = ts.Skip(1).ToArray();
        plot.Add.Scatter(shown, inferred.Skip(1).ToArray()).LegendText = "rollout, inferred actions";
        plot.Add.Scatter(shown, random.Skip(1).ToArray()).LegendText = "rollout, random actions";
        plot.Add.Scatter(shown, realContext.Skip(1).ToArray()).LegendText = "next frame from real frames";
        plot.Title("PSNR against the real clip");
        plot.XLabel("frame t");
        plot.YLabel("PSNR (dB)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>
    /// Heat map of transition counts, each cell labelled with its count: by default latent actions (rows) by true actions
    /// (columns); <paramref name="rowNames"/>, <paramref name="title"/> and the axis labels name other pairs of labelings.
    /// </summary>
    public static byte[] CountHeatmap(int[][] counts, IReadOnlyList<string> trueNames, IReadOnlyList<string>? rowNames = null,
        string title = "Transitions: latent action (rows) by true action (columns)", string xLabel = "true action", string yLabel = "latent action")
    {
        int rows = counts.Length, cols = counts.Length == 0 ? 0 : counts[0].Length;
        var data = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) data[r, c] = counts[r][c];
        var plot = PlotFonts.NewPlot();
        var map = plot.Add.Heatmap(data);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.Rectangle = new CoordinateRect(-0.5, cols - 0.5, -0.5, rows - 0.5);   // the cells' edges; row 0 drawn at the top: cell (r, c) centred on (c, rows − 1 − r)
        plot.Add.ColorBar(map);
        double max = Math.Max(1, counts.SelectMany(r => r).DefaultIfEmpty(0).Max());
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                var text = plot.Add.Text(counts[r][c].ToString(), c, rows - 1 - r);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = counts[r][c] > max * 0.6 ? Colors.Black : Colors.White;
            }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, cols).Select(c => (double)c).ToArray(), trueNames.Take(cols).ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, rows).Select(r => (double)(rows - 1 - r)).ToArray(),
            Enumerable.Range(0, rows).Select(r => rowNames is not null && r < rowNames.Count ? rowNames[r] : r.ToString()).ToArray());
        plot.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot.GetImageBytes(Math.Max(Width, 120 + 60 * cols), Math.Max(Height, 120 + 40 * rows), ImageFormat.Png);
    }

    /// <summary>
    /// Per latent action held: the view's motion into the first generated frame and its mean motion per frame after
    /// that, right and up (pixels), four bars per action.
    /// </summary>
    public static byte[] Controllability(IReadOnlyList<ActionMotion> actions)
    {
        var plot = PlotFonts.NewPlot();
        var series = new (string Label, Func<ActionMotion, double> Value)[]
        {
            ("first frame, right", a => a.FirstRight), ("first frame, up", a => a.FirstUp),
            ("later frames, right", a => a.LaterRight), ("later frames, up", a => a.LaterUp),
        };
        var bars = new List<Bar>();
        for (int s = 0; s < series.Length; s++)
        {
            var color = plot.Add.Palette.GetColor(s);
            foreach (var a in actions)
                bars.Add(new Bar { Position = a.Action - 0.3 + 0.2 * s, Value = series[s].Value(a), FillColor = color, Size = 0.2 });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Label, FillColor = color });
        }
        plot.Add.Bars(bars);
        plot.Add.HorizontalLine(0, color: Colors.Gray);
        plot.ShowLegend(Edge.Right);
        plot.Axes.Bottom.SetTicks(actions.Select(a => (double)a.Action).ToArray(), actions.Select(a => a.Action.ToString()).ToArray());
        plot.Title("View motion while each latent action is held");
        plot.XLabel("latent action");
        plot.YLabel("pixels per frame");
        return plot.GetImageBytes(Width + 160, Height, ImageFormat.Png);
    }

    /// <summary>One run's point in <see cref="Compare"/>.</summary>
    public sealed record ComparedRun(string Label, double X, double Y);

    /// <summary>
    /// Runs' evaluations as labelled points, <paramref name="xKey"/> against <paramref name="yKey"/>; the world's own figures
    /// (if known) as dashed lines and targets (if given) as dotted ones.
    /// </summary>
    public static byte[] Compare(IReadOnlyList<ComparedRun> runs, string xKey, string yKey, double? worldX, double? worldY, double? targetX, double? targetY)
    {
        var plot = PlotFonts.NewPlot();
        foreach (var r in runs)
        {
            var marker = plot.Add.Marker(r.X, r.Y);
            marker.MarkerSize = 8;
            var text = plot.Add.Text(r.Label, r.X, r.Y);
            text.LabelFontSize = 11;
            text.OffsetX = 5;
            text.OffsetY = -3;
        }
        void Line(double? at, bool vertical, string legend, LinePattern pattern)
        {
            if (at is not { } v) return;
            var line = vertical ? (ScottPlot.Plottables.AxisLine)plot.Add.VerticalLine(v, color: Colors.Gray) : plot.Add.HorizontalLine(v, color: Colors.Gray);
            line.LinePattern = pattern;
            line.LegendText = legend;
        }
        Line(worldX, true, $"the world's own buttons, {xKey} ({worldX:0.###})", LinePattern.Dashed);
        Line(worldY, false, $"the world's own buttons, {yKey} ({worldY:0.###})", LinePattern.Dashed);
        Line(targetX, true, $"target {xKey} {targetX:0.###}", LinePattern.Dotted);
        Line(targetY, false, $"target {yKey} {targetY:0.###}", LinePattern.Dotted);
        plot.Title($"{yKey} against {xKey}, {runs.Count} runs");
        plot.XLabel(xKey);
        plot.YLabel(yKey);
        // Below the axes, where it hides no point and no corner the targets mark.
        if (worldX is not null || worldY is not null || targetX is not null || targetY is not null) plot.ShowLegend(Edge.Bottom);
        return plot.GetImageBytes(Width + 320, Height + 180, ImageFormat.Png);
    }

    /// <summary>
    /// One small plot per number logged in a run's <c>metrics.jsonl</c> (lines <c>{"step": S, "split": "train"|"val", key: value, …}</c>),
    /// a line per split, in the order the keys first appear; values that are not finite numbers are skipped.
    /// </summary>
    public static List<(string Key, byte[] Png)> TrainingCurves(string metricsPath)
    {
        var series = new Dictionary<string, Dictionary<string, List<(double Step, double Value)>>>();   // key → split → points
        foreach (var line in File.ReadLines(metricsPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("step", out var stepElement) || !stepElement.TryGetDouble(out double step)) continue;
            string split = root.TryGetProperty("split", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "train";
            foreach (var p in root.EnumerateObject())
            {
                if (p.Name is "step" or "split" || p.Value.ValueKind != JsonValueKind.Number) continue;
                double v = p.Value.GetDouble();
                if (!double.IsFinite(v)) continue;
                if (!series.TryGetValue(p.Name, out var bySplit)) series[p.Name] = bySplit = new();
                if (!bySplit.TryGetValue(split, out var points)) bySplit[split] = points = new();
                points.Add((step, v));
            }
        }
        var plots = new List<(string, byte[])>();
        foreach (var (key, bySplit) in series)
        {
            var plot = PlotFonts.NewPlot();
            foreach (var (split, points) in bySplit)
                plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray()).LegendText = split;
            plot.Title(key);
            plot.XLabel("step");
            plot.ShowLegend(Alignment.UpperRight);
            plots.Add((key, plot.GetImageBytes(400, 260, ImageFormat.Png)));
        }
        return plots;
    }
}
