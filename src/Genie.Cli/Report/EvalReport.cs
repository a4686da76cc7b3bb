using System.Net;
using System.Text;
using System.Text.Json;
using Genie.Core.IO;
using Genie.Models.Evaluation;
using Genie.Play;

namespace Genie.Cli.Report;

/// <summary>
/// What `genie eval --out DIR` shows beyond its numbers: the rollouts of a few clips, the latent-by-true count matrix
/// and the true actions' names, the controllability rows and the curves by frame.
/// </summary>
/// <param name="Height">Frame height.</param>
/// <param name="Width">Frame width.</param>
/// <param name="Rollouts">Clips to show as animations: the real clip and its two rollouts.</param>
/// <param name="PsnrInferred">Mean PSNR per frame t = 1..T of the rollouts with inferred actions.</param>
/// <param name="PsnrRandom">The same with random actions.</param>
/// <param name="PsnrRealContext">Mean PSNR per frame of the next frame sampled from the real frames before it (t = 1: the decoded prompt).</param>
/// <param name="Counts">Transitions by latent action and true action, when the data has true actions.</param>
/// <param name="TrueActionNames">Names of the true actions (the counts' columns).</param>
/// <param name="Control">Controllability rows, when measured.</param>
/// <param name="LatentDirections">Transitions by latent action and the way the real view moves (<see cref="Metrics.DirectionNames"/>).</param>
/// <param name="Directions">Transitions by the real view's direction and the inferred-action rollouts', when rolled out.</param>
/// <param name="DirectionsRealContext">The same for the teacher-forced next frames.</param>
/// <param name="HeldLatents">Transitions of the world's own buttons held (rows, named by <paramref name="ButtonNames"/>) by the
/// latent action the LAM reads in them (columns), when the world could replay the prompts.</param>
/// <param name="ButtonNames">Names of the world's buttons.</param>
public sealed record ReportPictures(int Height, int Width, IReadOnlyList<RolloutClip> Rollouts,
    double[]? PsnrInferred = null, double[]? PsnrRandom = null, double[]? PsnrRealContext = null,
    int[][]? Counts = null, IReadOnlyList<string>? TrueActionNames = null, IReadOnlyList<ActionMotion>? Control = null,
    int[][]? LatentDirections = null, int[][]? Directions = null, int[][]? DirectionsRealContext = null,
    int[][]? HeldLatents = null, IReadOnlyList<string>? ButtonNames = null);

/// <summary>
/// The evaluation report folder: <c>report.json</c> (every number of `genie eval --json`, plus <c>report</c>, the
/// kind marker, and <c>command</c>) and a self-contained <c>report.html</c>: tables, plots (ScottPlot PNGs) and
/// animated GIFs, all embedded as data URIs, so the page fetches nothing and can be mailed or committed as one file.
/// </summary>
public static class EvalReport
{
    /// <summary>The value of <c>report</c> in <c>report.json</c> that marks a folder as this program's report.</summary>
    public const string Kind = "genie eval report";
    private static readonly string[] Entries = ["report.json", "report.html"];
    /// <summary>Clips shown as animations.</summary>
    public const int ShownClips = 4;

    /// <summary>
    /// Throws <see cref="IOException"/> unless <paramref name="outDir"/> may receive a report: it is missing, empty, or an
    /// earlier report (its <c>report.json</c> says so and it holds nothing else), and is not and does not hold one of
    /// the inputs. The same rules as <see cref="OutputFolder.CheckReplaceable"/>, with messages for a command that has
    /// no <c>--overwrite</c>: an earlier report is simply replaced.
    /// </summary>
    public static void CheckOutput(string outDir, IEnumerable<string?> inputs)
    {
        var full = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(full)) throw new IOException($"{outDir} is a file, not a folder; choose another --out");
        foreach (var input in inputs)
        {
            if (input is null) continue;
            var inFull = Path.GetFullPath(input).TrimEnd(Path.DirectorySeparatorChar);
            if (inFull == full || inFull.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new IOException($"refusing to write a report into {outDir}: it holds this command's input {input}; choose another --out");
        }
        if (!Directory.Exists(full) || !Directory.EnumerateFileSystemEntries(full).Any()) return;
        if (!IsReport(Path.Combine(full, "report.json")))
            throw new IOException($"refusing to write a report into {outDir}: the folder holds other files and no earlier report (report.json); " +
                "choose a new or empty folder for --out");
        var foreign = Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).FirstOrDefault(n => !Entries.Contains(n));
        if (foreign is not null)
            throw new IOException($"refusing to replace the report in {outDir}: it also holds '{foreign}', which a report does not; move it out first or choose another --out");
    }

    private static bool IsReport(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("report", out var k) &&
                   k.ValueKind == JsonValueKind.String && k.GetString() == Kind;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Writes <c>report.json</c> and <c>report.html</c> into <paramref name="outDir"/>, each atomically.</summary>
    public static void Write(string outDir, IReadOnlyDictionary<string, object> results, ReportPictures pictures, string command, string? metricsPath)
    {
        var json = new Dictionary<string, object> { ["report"] = Kind, ["command"] = command };
        foreach (var (k, v) in results) json[k] = v;
        if (pictures.Rollouts.Count > 0) json["report_rollout_clips"] = pictures.Rollouts.Select(r => r.Index).ToList();
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.json"), JsonSerializer.Serialize(json, options) + "\n");
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.html"), Html(results, pictures, command, metricsPath));
    }

    // ------------------------------------------------------------------ the page

    private static string Html(IReadOnlyDictionary<string, object> r, ReportPictures p, string command, string? metricsPath)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Genie evaluation report</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
            h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
            table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
            th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: left; vertical-align: top; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            th { background: #f4f4f4; } td.note { color: #555; font-size: 0.9em; }
            code { background: #f4f4f4; padding: 1px 4px; }
            .plots { display: flex; flex-wrap: wrap; gap: 10px; } img.plot { max-width: 100%; border: 1px solid #eee; }
            .clip { display: flex; gap: 16px; margin: 0.8em 0; align-items: flex-start; }
            figure { margin: 0; } figcaption { font-size: 0.85em; color: #444; max-width: 260px; word-wrap: break-word; }
            img.rollout { image-rendering: pixelated; border: 1px solid #ccc; }
            </style></head><body>
            <h1>Genie evaluation report</h1>

            """);
        html.Append($"<p>Run <code>{E(r, "run")}</code> on <code>{E(r, "data")}</code>: {E(r, "clips")} held-out clips of {E(r, "clip_length")} frames, " +
                    $"measured in {E(r, "seconds")} s. Made by <code>{Enc(command)}</code>. The numbers are also in <code>report.json</code> beside this page.</p>\n");

        html.Append("<section id=\"metrics\"><h2>Metrics</h2>\n");
        foreach (var (title, keys) in Groups(r))
        {
            var rows = keys.Where(r.ContainsKey).ToList();
            if (rows.Count == 0) continue;
            html.Append($"<h3>{Enc(title)}</h3>\n<table class=\"metrics\"><tr><th>metric</th><th>value</th><th>meaning</th></tr>\n");
            foreach (var k in rows)
                html.Append($"<tr><td><code>{Enc(k)}</code></td><td class=\"num\">{Enc(Format(r[k]))}</td><td class=\"note\">{Enc(Meaning(k))}</td></tr>\n");
            html.Append("</table>\n");
        }

        html.Append("</section>\n");

        if (p.PsnrInferred is { } inferred && p.PsnrRandom is { } random && p.PsnrRealContext is { } realContext)
        {
            var delta = inferred.Zip(random, (a, b) => a - b).ToArray();
            html.Append("<section id=\"delta-psnr\"><h2>Δt PSNR by frame</h2>\n<p>Each clip is rolled out from its first frame with the latent actions the LAM infers " +
                        "from it and with uniformly random ones (same sampling seed); Δt PSNR is the difference of their PSNR against the real frame t. " +
                        "Frame 1 is the prompt, the same decoded frame in both, so Δ1 = 0.</p>\n<div class=\"plots\">");
            html.Append(Img("plot", ReportPlots.DeltaPsnr(delta), "Δt PSNR against t"));
            html.Append(Img("plot", ReportPlots.PsnrCurves(inferred, random, realContext), "PSNR per frame"));
            html.Append("</div>\n<table class=\"curve\"><tr><th>t</th>");
            for (int t = 1; t <= delta.Length; t++) html.Append($"<th>{t}</th>");
            html.Append("</tr>\n");
            foreach (var (name, values) in new[] { ("Δt PSNR", delta), ("PSNR inferred", inferred), ("PSNR random", random), ("PSNR real context", realContext) })
                html.Append($"<tr><th>{name}</th>{string.Concat(values.Select(v => $"<td class=\"num\">{v:0.00}</td>"))}</tr>\n");
            html.Append("</table></section>\n");
        }

        if (p.Rollouts.Count > 0)
        {
            int scale = Math.Clamp(160 / p.Width, 1, 4);
            html.Append("<section id=\"rollouts\"><h2>Rollouts</h2>\n<p>For a few clips spread over the held-out set: the real clip, the rollout from its first frame " +
                        "with the latent actions inferred from it, and with random latent actions (the actions under each).</p>\n");
            foreach (var clip in p.Rollouts)
            {
                int frames = clip.InferredActions.Length + 1;
                html.Append($"<div class=\"clip\" data-clip=\"{clip.Index}\">");
                html.Append(Figure(clip.Real, frames, p, scale, $"clip {clip.Index}: real"));
                html.Append(Figure(clip.Inferred, frames, p, scale, $"inferred actions: {string.Join(' ', clip.InferredActions)}"));
                html.Append(Figure(clip.Random, frames, p, scale, $"random actions: {string.Join(' ', clip.RandomActions)}"));
                html.Append("</div>\n");
            }
            html.Append("</section>\n");
        }

        if (p.Counts is { } counts)
        {
            var names = p.TrueActionNames ?? Enumerable.Range(0, counts.Length == 0 ? 0 : counts[0].Length).Select(i => i.ToString()).ToList();
            html.Append("<section id=\"actions\"><h2>Latent against true actions</h2>\n<p>Transitions counted by the latent action the LAM infers (rows) and the " +
                        $"action the agent took (columns). NMI {E(r, "action_nmi")}, accuracy after mapping each latent to its most frequent true action {E(r, "action_accuracy")}.</p>\n");
            html.Append(Img("plot", ReportPlots.CountHeatmap(counts, names), "latent-by-true count matrix"));
            html.Append("<table class=\"counts\"><tr><th>latent \\ true</th>");
            foreach (var n in names) html.Append($"<th>{Enc(n)}</th>");
            html.Append("</tr>\n");
            for (int l = 0; l < counts.Length; l++)
                html.Append($"<tr><th>{l}</th>{string.Concat(counts[l].Select(c => $"<td class=\"num\">{c}</td>"))}</tr>\n");
            html.Append("</table></section>\n");
        }

        if (p.LatentDirections is { } latentDirections)
        {
            var directions = Metrics.DirectionNames;
            html.Append("<section id=\"directions\"><h2>Where the view's direction goes</h2>\n<p>The way the view moves (the signs of its " +
                        "whole-pixel shift, right/left and up/down). Real transitions by the latent action the LAM infers (rows): NMI " +
                        $"{E(r, "latent_direction_nmi")}; of the moving ones, {E(r, "latent_direction_share")} move their latent's most common way.");
            if (p.Directions is not null)
                html.Append($" Then the real direction (rows) against the generated one (columns): the rollouts with the inferred actions " +
                            $"(direction agreement {E(r, "rollout_direction_agreement")}) and each next frame sampled from the real frames before it " +
                            $"({E(r, "next_frame_direction_agreement_real_context")}).");
            html.Append("</p>\n<div class=\"plots\">");
            html.Append(Img("plot", ReportPlots.CountHeatmap(latentDirections, directions, null, "Transitions: latent action (rows) by the real view's direction",
                "real view's direction", "latent action"), "latent action by the real view's direction"));
            if (p.Directions is { } rollout)
                html.Append(Img("plot", ReportPlots.CountHeatmap(rollout, directions, directions, "Rollouts: real direction (rows) by generated",
                    "generated view's direction", "real view's direction"), "real by generated direction, rollouts"));
            if (p.DirectionsRealContext is { } forced)
                html.Append(Img("plot", ReportPlots.CountHeatmap(forced, directions, directions, "Teacher-forced: real direction (rows) by generated",
                    "generated view's direction", "real view's direction"), "real by generated direction, teacher-forced"));
            html.Append("</div></section>\n");
        }

        if (p.HeldLatents is { Length: > 0 } held)
        {
            var buttons = p.ButtonNames ?? Enumerable.Range(0, held.Length).Select(i => i.ToString()).ToList();
            var latents = Enumerable.Range(0, held[0].Length).Select(i => i.ToString()).ToList();
            html.Append("<section id=\"held\"><h2>The world's buttons held, as the LAM reads them</h2>\n<p>Each of the world's own buttons held " +
                        "from the controllability prompts (rows), the latent action the LAM infers for each transition (columns). A held " +
                        "latent can only do what a held button did if the LAM gives that button one latent: the share of each button's " +
                        $"transitions with its most common latent {E(r, "world_held_latent_purity")} (mean over buttons), NMI " +
                        $"{E(r, "world_held_latent_nmi")}, consecutive held transitions with the same latent {E(r, "world_held_latent_self_follow")}; " +
                        $"in the held-out clips a latent follows itself in {E(r, "latent_self_follow")} of the transitions.</p>\n");
            html.Append(Img("plot", ReportPlots.CountHeatmap(held, latents, buttons, "World's buttons held (rows) by inferred latent action",
                "latent action", "button held"), "held buttons by latent action"));
            html.Append("</section>\n");
        }

        if (p.Control is { Count: > 0 } control)
        {
            html.Append("<section id=\"control\"><h2>Controllability</h2>\n<p>Each latent action held from the first frame of a few held-out clips; the view's " +
                        "motion between frames (best whole-pixel shift), pixels right and up.</p>\n");
            html.Append(Img("plot", ReportPlots.Controllability(control), "motion per frame of each held latent action"));
            html.Append("<table class=\"control\"><tr><th>latent action</th><th>first frame right</th><th>first frame up</th><th>later right / frame</th>" +
                        "<th>later up / frame</th><th>still share</th><th>agreement</th></tr>\n");
            foreach (var a in control)
                html.Append($"<tr><th>{a.Action}</th><td class=\"num\">{a.FirstRight:0.00}</td><td class=\"num\">{a.FirstUp:0.00}</td><td class=\"num\">{a.LaterRight:0.00}</td>" +
                            $"<td class=\"num\">{a.LaterUp:0.00}</td><td class=\"num\">{a.StillShare:P0}</td><td class=\"num\">{a.Agreement:P0}</td></tr>\n");
            html.Append("</table></section>\n");
        }

        html.Append("<section id=\"training\"><h2>Training curves</h2>\n");
        if (metricsPath is not null)
        {
            html.Append($"<p>From the run's <code>metrics.jsonl</code>.</p>\n<div class=\"plots\">");
            foreach (var (key, png) in ReportPlots.TrainingCurves(metricsPath)) html.Append(Img("plot training", png, key));
            html.Append("</div>\n");
        }
        else html.Append("<p>The run folder has no <code>metrics.jsonl</code> (an export keeps only the weights), so there are no training curves.</p>\n");
        html.Append("</section>\n</body></html>\n");
        return html.ToString();
    }

    private static string Figure(byte[] clip, int frames, ReportPictures p, int scale, string caption)
    {
        int frameBytes = p.Height * p.Width * 3;
        var list = Enumerable.Range(0, frames).Select(f => clip.AsSpan(f * frameBytes, frameBytes).ToArray()).ToList();
        var gif = VideoExport.Gif(list, p.Width, p.Height, scale, fps: 6);
        return $"<figure><img class=\"rollout\" src=\"data:image/gif;base64,{Convert.ToBase64String(gif)}\" width=\"{p.Width * scale}\" height=\"{p.Height * scale}\" " +
               $"alt=\"{Enc(caption)}\"><figcaption>{Enc(caption)}</figcaption></figure>";
    }

    private static string Img(string cls, byte[] png, string alt) =>
        $"<img class=\"{cls}\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" alt=\"{Enc(alt)}\" title=\"{Enc(alt)}\">";

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
    private static string E(IReadOnlyDictionary<string, object> r, string key) => r.TryGetValue(key, out var v) ? Enc(Format(v)) : "—";

    private static string Format(object v) => v switch
    {
        double d => (d + 0.0).ToString("0.####", System.Globalization.CultureInfo.InvariantCulture),   // + 0.0: no "-0"
        Dictionary<string, string> m => string.Join(", ", m.Select(e => $"{e.Key}→{e.Value}")),
        List<double> list => string.Join(" ", list.Select(x => x.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture))),
        _ => v.ToString() ?? "",
    };

    // The metric tables: each group lists its keys in order; a scalar the groups do not name goes under "Other".
    private static List<(string Title, List<string> Keys)> Groups(IReadOnlyDictionary<string, object> r)
    {
        var groups = new List<(string, List<string>)>
        {
            ("Tokenizer", ["tokenizer_psnr", "tokenizer_ssim", "codes_used", "codebook_size", "codebook_usage", "codebook_perplexity", "code_flicker"]),
            ("Dynamics and controllability",
                [.. r.Keys.Where(k => k.StartsWith("psnr_t", StringComparison.Ordinal) || k.StartsWith("delta_psnr_t", StringComparison.Ordinal)),
                 "next_frame_psnr_real_context", "next_frame_psnr_own_context", "rollout_moving_real", "rollout_moving_generated",
                 "rollout_direction_agreement", "control_still_share", "control_agreement", "generation_frames_per_second", "generated_frames"]),
            ("Distribution of clips (Fréchet distance)", ["fvd", "fvd_random_actions", "fvd_features"]),
            ("Action recovery", ["action_nmi", "action_accuracy", "transitions", "latent_to_true", "latent_direction_nmi", "latent_direction_share"]),
            ("Sampling", ["temperature", "choice_temperature", "guidance", "sampling_steps"]),
            ("Run", ["run", "data", "clips", "clip_length", "seconds"]),
        };
        var named = groups.SelectMany(g => g.Item2).ToHashSet();
        var other = r.Where(kv => !named.Contains(kv.Key) && kv.Value is string or double or int or long or Dictionary<string, string>).Select(kv => kv.Key).ToList();
        if (other.Count > 0) groups.Add(("Other", other));
        return groups;
    }

    private static string Meaning(string key) => key switch
    {
        "tokenizer_psnr" => "reconstruction through the tokens, mean per-frame PSNR in [0, 1] (dB)",
        "tokenizer_ssim" => "reconstruction's mean per-frame SSIM on luminance, 11×11 Gaussian window",
        "codes_used" => "distinct token ids in the held-out clips",
        "codebook_size" => "codes in the tokenizer's codebook",
        "codebook_usage" => "codes_used / codebook_size",
        "codebook_perplexity" => "exp(entropy) of the token ids: how many equally used codes the usage is worth",
        "code_flicker" => "of the patches unchanged since the frame before, the share whose token changed",
        "next_frame_psnr_real_context" => "next frame sampled from the real frames before it, mean PSNR",
        "next_frame_psnr_own_context" => "the inferred-action rollout's mean PSNR over frames 2..T (its own frames as context)",
        "rollout_moving_real" => "share of real transitions in which the view moves",
        "rollout_moving_generated" => "share of generated transitions (inferred actions) in which the view moves",
        "rollout_direction_agreement" => "of the real transitions that move, the share where the rollout moves the same way",
        "control_still_share" => "share of frames after the first that do not move while a latent is held",
        "control_agreement" => "mean over latents of the share of prompts moving in the latent's most common direction",
        "generation_frames_per_second" => "frames generated per second by the play sampler during the rollouts (wall clock, this machine)",
        "generated_frames" => "frames generated in the timed rollouts",
        "fvd" => "Fréchet distance between Gaussians fitted to features of the real clips and of the inferred-action rollouts",
        "fvd_random_actions" => "the same for the random-action rollouts",
        "fvd_features" => "the feature extractor behind both distances: I3D (with --i3d) or the project's own, which is not I3D and not comparable with published FVD",
        "action_nmi" => "normalised mutual information between latent and true actions (arithmetic normalisation)",
        "action_accuracy" => "accuracy after mapping each latent to its most frequent true action",
        "transitions" => "transitions compared",
        "latent_to_true" => "the mapping behind action_accuracy",
        "clips" => "held-out clips measured",
        "clip_length" => "frames per clip",
        "temperature" => "the token sampling temperature of every generated frame (0: argmax)",
        "choice_temperature" => "MaskGIT's choice temperature κ: Gumbel noise on which tokens each step keeps",
        "guidance" => "action guidance w: each MaskGIT step samples from ℓ_none + w·(ℓ_action − ℓ_none) (1: none)",
        "latent_direction_nmi" => "normalised mutual information between latent action and the real view's direction (nine classes)",
        "latent_direction_share" => "of the real transitions that move, the share moving their latent's most common way: a model giving each latent one motion",
        "sampling_steps" => "MaskGIT steps per generated frame",
        "seconds" => "wall-clock time of the evaluation",
        _ when key.StartsWith("delta_psnr_t", StringComparison.Ordinal) => "Δt PSNR at the paper's frame t: PSNR with inferred minus with random actions",
        _ when key.EndsWith("_inferred", StringComparison.Ordinal) => "PSNR of frame t of the rollout with inferred actions",
        _ when key.EndsWith("_random", StringComparison.Ordinal) => "PSNR of frame t of the rollout with random actions",
        _ => "",
    };
}
