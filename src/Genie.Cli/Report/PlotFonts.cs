using ScottPlot;

namespace Genie.Cli.Report;

/// <summary>
/// The font every plot draws its text with: DejaVu Sans, shipped beside the program (Report/Fonts, with its licence).
/// SkiaSharp's self-contained native library (SkiaSharp.NativeAssets.Linux.NoDependencies) has no fontconfig, so it
/// finds no system font, and without a font file ScottPlot draws titles, axis labels, ticks and legends as nothing.
/// </summary>
public static class PlotFonts
{
    /// <summary>The font's name in ScottPlot.</summary>
    public const string Name = "DejaVu Sans";

    private static readonly Lazy<bool> Registered = new(() =>
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Report", "Fonts");
        string regular = Path.Combine(dir, "DejaVuSans.ttf"), bold = Path.Combine(dir, "DejaVuSans-Bold.ttf");
        if (!File.Exists(regular) || !File.Exists(bold)) throw new FileNotFoundException($"the plots' font is missing from {dir} (a broken install?)");
        Fonts.AddFontFile(Name, regular, bold: false, italic: false);
        Fonts.AddFontFile(Name, bold, bold: true, italic: false);
        Fonts.Default = Name;
        return true;
    });

    /// <summary>A new plot whose text uses the shipped font (register it on first use).</summary>
    public static Plot NewPlot()
    {
        _ = Registered.Value;
        var plot = new Plot();
        plot.Font.Set(Name);
        return plot;
    }
}
