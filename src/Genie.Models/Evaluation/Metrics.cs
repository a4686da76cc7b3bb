namespace Genie.Models.Evaluation;

/// <summary>Image and clustering metrics (ARCHITECTURE.md §8).</summary>
public static class Metrics
{
    /// <summary>PSNR in dB of two images with values in [0, 1]: 10·log10(1 / MSE). Identical images give +∞ capped at 100.</summary>
    public static double Psnr(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("images differ in size");
        double se = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; se += d * d; }
        return PsnrFromMse(se / a.Length);
    }

    /// <summary>PSNR in dB of two uint8 images (scaled to [0, 1]).</summary>
    public static double Psnr(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("images differ in size");
        double se = 0;
        for (int i = 0; i < a.Length; i++) { double d = (a[i] - b[i]) / 255.0; se += d * d; }
        return PsnrFromMse(se / a.Length);
    }

    /// <summary>10·log10(1/mse), capped at 100 dB.</summary>
    public static double PsnrFromMse(double mse) => mse <= 1e-10 ? 100 : 10 * Math.Log10(1 / mse);

    /// <summary>
    /// Code flicker of a tokenizer on clips (uint8 frames (B, T, H, W, 3) and their token ids (B, T, N) for patches
    /// of <paramref name="patch"/>²): of the patch positions whose pixels are exactly those of the frame before, the
    /// share whose token id is not the one before. A tokenizer whose ids are a function of what the patch shows scores
    /// 0; every flicker is a change the dynamics model has to predict although nothing on screen changed. Returns the
    /// counts (unchanged patches, of them with a new id), so clips can be pooled.
    /// </summary>
    public static (long Unchanged, long Flickered) CodeFlicker(ReadOnlySpan<byte> frames, ReadOnlySpan<int> ids, int b, int t, int height, int width, int patch)
    {
        int gw = width / patch, n = height / patch * gw, frameBytes = height * width * 3;
        if (frames.Length != (long)b * t * frameBytes || ids.Length != (long)b * t * n)
            throw new ArgumentException($"{frames.Length} bytes and {ids.Length} ids are not {b}x{t} frames of {width}x{height} and {n} tokens");
        long unchanged = 0, flickered = 0;
        for (int clip = 0; clip < b; clip++)
            for (int f = 1; f < t; f++)
            {
                var now = frames.Slice((clip * t + f) * frameBytes, frameBytes);
                var before = frames.Slice((clip * t + f - 1) * frameBytes, frameBytes);
                for (int i = 0; i < n; i++)
                {
                    int y0 = i / gw * patch, x0 = i % gw * patch;
                    bool same = true;
                    for (int y = y0; y < y0 + patch && same; y++)
                        same = now.Slice((y * width + x0) * 3, patch * 3).SequenceEqual(before.Slice((y * width + x0) * 3, patch * 3));
                    if (!same) continue;
                    unchanged++;
                    int at = (clip * t + f) * n + i;
                    if (ids[at] != ids[at - n]) flickered++;
                }
            }
        return (unchanged, flickered);
    }

    /// <summary>
    /// How far the view moved from frame <paramref name="a"/> to frame <paramref name="b"/> (uint8, H×W×3), in
    /// whole pixels, right and down: the offset (dx, dy), |dx|, |dy| ≤ <paramref name="radius"/>, for which the
    /// pixels that changed best match, a(x, y) against b(x − dx, y − dy). In a world whose camera follows the player
    /// this is the player's motion on screen.
    /// <para>Only the changed pixels are matched (those whose largest channel difference at no offset exceeds
    /// <see cref="ViewShiftTolerance"/>), because parts of a view can be fixed to the screen: the platformer's sky and
    /// hills with <c>--parallax 0</c> cover most of the frame and match best where they are, so matching whole frames
    /// called a scroll of the terrain "no motion" whenever the camera moved up or down (on the purposeful explorer's
    /// video it saw 49 % of the camera's moves; this sees 89 %, docs/design.md). An offset counts only if it explains at
    /// least half the change (its mean squared difference over the changed pixels is at most half that at no offset)
    /// and the changed pixels are at least <see cref="ViewShiftMinChanged"/> of the frame, so a sprite that walks on the
    /// spot, or tiles that flicker in place, are no motion. Ties go to the smaller offset; two equal frames give (0, 0).</para>
    /// </summary>
    public static (int Dx, int Dy) ViewShift(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int height, int width, int radius)
    {
        if (a.Length != height * width * 3 || b.Length != a.Length) throw new ArgumentException($"frames must both be {width}x{height}x3 bytes");
        if (radius < 0 || radius >= Math.Min(height, width)) throw new ArgumentOutOfRangeException(nameof(radius), $"radius must be in [0, {Math.Min(height, width)})");
        // The changed pixels and their squared difference at no offset.
        var changed = new List<(int Y, int X)>();
        long se0 = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 3, largest = 0, se = 0;
                for (int c = 0; c < 3; c++) { int d = a[p + c] - b[p + c]; largest = Math.Max(largest, Math.Abs(d)); se += d * d; }
                if (largest > ViewShiftTolerance) { changed.Add((y, x)); se0 += se; }
            }
        if (changed.Count == 0 || changed.Count < ViewShiftMinChanged * height * width) return (0, 0);
        double mse0 = (double)se0 / changed.Count;

        var offsets = new List<(int Dx, int Dy)>();
        for (int dy = -radius; dy <= radius; dy++)
            for (int dx = -radius; dx <= radius; dx++)
                if (dx != 0 || dy != 0) offsets.Add((dx, dy));
        offsets.Sort((p, q) => (Math.Abs(p.Dx) + Math.Abs(p.Dy)).CompareTo(Math.Abs(q.Dx) + Math.Abs(q.Dy)));
        double best = double.PositiveInfinity;
        var arg = (0, 0);
        foreach (var (dx, dy) in offsets)
        {
            long se = 0;
            int inside = 0;
            foreach (var (y, x) in changed)
            {
                int yb = y - dy, xb = x - dx;
                if ((uint)yb >= (uint)height || (uint)xb >= (uint)width) continue;
                int p = (y * width + x) * 3, q = (yb * width + xb) * 3;
                inside++;
                for (int c = 0; c < 3; c++) { int d = a[p + c] - b[q + c]; se += d * d; }
            }
            if (2 * inside < changed.Count) continue;   // most of the change must stay in view at this offset
            double mse = (double)se / inside;
            if (mse < best - 1e-9) { best = mse; arg = (dx, dy); }
        }
        return best <= 0.5 * mse0 ? arg : (0, 0);
    }

    /// <summary>Largest channel difference (of 255) up to which <see cref="ViewShift"/> counts a pixel as unchanged.</summary>
    public const int ViewShiftTolerance = 16;

    /// <summary>Share of the frame that must change for <see cref="ViewShift"/> to see any motion.</summary>
    public const double ViewShiftMinChanged = 0.03;

    /// <summary>
    /// The direction of a view shift (right, down) as one of nine classes, the signs of its two axes as the rollouts'
    /// direction agreement compares them: (sign dx + 1)·3 + (sign dy + 1), so <see cref="StillClass"/> (4) is no motion.
    /// </summary>
    public static int DirectionClass((int Dx, int Dy) shift) => (Math.Sign(shift.Dx) + 1) * 3 + Math.Sign(shift.Dy) + 1;

    /// <summary>The <see cref="DirectionClass"/> of no motion.</summary>
    public const int StillClass = 4;

    /// <summary>
    /// Of the moving transitions of a count matrix (rows: any labels, e.g. latent actions; columns: <see cref="DirectionClass"/>),
    /// the share that move their row's most common way among its moving ones; 0 when nothing moves.
    /// </summary>
    public static double DirectionShare(int[][] counts)
    {
        int moving = 0, carried = 0;
        foreach (var row in counts)
        {
            if (row.Length != DirectionNames.Count) throw new ArgumentException($"a row has {row.Length} columns, not the {DirectionNames.Count} directions");
            int best = 0;
            for (int d = 0; d < row.Length; d++)
                if (d != StillClass) { moving += row[d]; best = Math.Max(best, row[d]); }
            carried += best;
        }
        return moving == 0 ? 0 : (double)carried / moving;
    }

    /// <summary>Names of the <see cref="DirectionClass"/> classes, in order (the view's motion on screen; "up" is dy &lt; 0).</summary>
    public static readonly IReadOnlyList<string> DirectionNames = ["left-up", "left", "left-down", "up", "still", "down", "right-up", "right", "right-down"];

    /// <summary>
    /// Compares the view's motion in a generated rollout with the real clip's, transition by transition
    /// (<see cref="ViewShift"/> of consecutive frames of each): the share of transitions that move in each, and of
    /// the transitions where the real view moves, the share where the generated one moves the same way (the signs
    /// of the horizontal and of the vertical motion both match). Returns the counts, so clips can be pooled.
    /// </summary>
    public static MotionComparison CompareMotion(IReadOnlyList<(int Dx, int Dy)> real, IReadOnlyList<(int Dx, int Dy)> generated)
    {
        if (real.Count != generated.Count) throw new ArgumentException($"{real.Count} real transitions against {generated.Count} generated ones");
        int movingReal = 0, movingGenerated = 0, agree = 0;
        for (int i = 0; i < real.Count; i++)
        {
            bool r = real[i] != (0, 0), g = generated[i] != (0, 0);
            if (g) movingGenerated++;
            if (!r) continue;
            movingReal++;
            if (Math.Sign(real[i].Dx) == Math.Sign(generated[i].Dx) && Math.Sign(real[i].Dy) == Math.Sign(generated[i].Dy)) agree++;
        }
        return new MotionComparison(real.Count, movingReal, movingGenerated, agree);
    }

    /// <summary>
    /// Normalised mutual information between two labelings, I(X;Y) / ((H(X) + H(Y)) / 2) (the arithmetic
    /// normalisation, scikit-learn's default). 1 when one labeling determines the other both ways, 0 when independent.
    /// </summary>
    public static double NormalizedMutualInformation(ReadOnlySpan<int> x, ReadOnlySpan<int> y)
    {
        if (x.Length != y.Length || x.Length == 0) throw new ArgumentException("labelings must be non-empty and of equal length");
        var joint = new Dictionary<(int, int), int>();
        var px = new Dictionary<int, int>();
        var py = new Dictionary<int, int>();
        for (int i = 0; i < x.Length; i++)
        {
            joint[(x[i], y[i])] = joint.GetValueOrDefault((x[i], y[i])) + 1;
            px[x[i]] = px.GetValueOrDefault(x[i]) + 1;
            py[y[i]] = py.GetValueOrDefault(y[i]) + 1;
        }
        double n = x.Length, mi = 0, hx = 0, hy = 0;
        foreach (var ((a, b), c) in joint) mi += c / n * Math.Log(c * n / ((double)px[a] * py[b]));
        foreach (var c in px.Values) hx -= c / n * Math.Log(c / n);
        foreach (var c in py.Values) hy -= c / n * Math.Log(c / n);
        if (hx + hy == 0) return 1;
        return Math.Max(0, mi / ((hx + hy) / 2));
    }

    /// <summary>
    /// Accuracy after mapping each latent code to the true action it co-occurs with most often
    /// (many-to-one), and the mapping itself.
    /// </summary>
    public static (double Accuracy, Dictionary<int, int> Mapping) MajorityMappingAccuracy(ReadOnlySpan<int> latent, ReadOnlySpan<int> truth)
    {
        var counts = new Dictionary<int, Dictionary<int, int>>();
        for (int i = 0; i < latent.Length; i++)
        {
            if (!counts.TryGetValue(latent[i], out var c)) counts[latent[i]] = c = new Dictionary<int, int>();
            c[truth[i]] = c.GetValueOrDefault(truth[i]) + 1;
        }
        var mapping = counts.ToDictionary(kv => kv.Key, kv => kv.Value.OrderByDescending(e => e.Value).ThenBy(e => e.Key).First().Key);
        int right = 0;
        for (int i = 0; i < latent.Length; i++) if (mapping[latent[i]] == truth[i]) right++;
        return (latent.Length == 0 ? 0 : (double)right / latent.Length, mapping);
    }

    /// <summary>
    /// How often each label follows itself: of the consecutive pairs within each sequence (a clip's latent actions, one
    /// per transition) whose first label is l, the share whose second is l too (<c>PerLabel[l]</c>, NaN where l never
    /// starts a pair), and the same over all pairs (<c>Overall</c>). A latent action that is a button held for many
    /// frames follows itself most of the time; one that marks a motion event (the first frame of a jump) rarely does,
    /// and holding it for many frames asks the dynamics model for a sequence its training never showed.
    /// </summary>
    public static (double[] PerLabel, double Overall) SelfFollow(IEnumerable<IReadOnlyList<int>> sequences, int labels)
    {
        var pairs = new int[labels];
        var same = new int[labels];
        foreach (var seq in sequences)
            for (int i = 1; i < seq.Count; i++)
            {
                int a = seq[i - 1];
                if ((uint)a >= (uint)labels || (uint)seq[i] >= (uint)labels)
                    throw new ArgumentOutOfRangeException(nameof(sequences), $"label {((uint)a >= (uint)labels ? a : seq[i])} is outside 0..{labels - 1}");
                pairs[a]++;
                if (seq[i] == a) same[a]++;
            }
        int total = pairs.Sum();
        var per = new double[labels];
        for (int l = 0; l < labels; l++) per[l] = pairs[l] == 0 ? double.NaN : (double)same[l] / pairs[l];
        return (per, total == 0 ? 0 : (double)same.Sum() / total);
    }

    /// <summary>
    /// Of a count matrix (rows: one labeling, e.g. the button held; columns: another, e.g. the latent action inferred),
    /// the mean over rows with any count of the share of the row's most common column: 1 when every row keeps to one
    /// column; 0 when there are no counts.
    /// </summary>
    public static double RowPurity(int[][] counts)
    {
        double sum = 0;
        int rows = 0;
        foreach (var row in counts)
        {
            int total = row.Sum();
            if (total == 0) continue;
            sum += (double)row.Max() / total;
            rows++;
        }
        return rows == 0 ? 0 : sum / rows;
    }

    /// <summary>
    /// Co-occurrence counts of two labelings: <c>counts[x][y]</c> is how often label x of <paramref name="x"/> (0 ≤ x &lt;
    /// <paramref name="rows"/>) stands beside label y of <paramref name="y"/> (0 ≤ y &lt; <paramref name="columns"/>).
    /// For latent against true actions this is the matrix behind <see cref="NormalizedMutualInformation"/> and
    /// <see cref="MajorityMappingAccuracy"/>.
    /// </summary>
    public static int[][] CountMatrix(ReadOnlySpan<int> x, ReadOnlySpan<int> y, int rows, int columns)
    {
        if (x.Length != y.Length) throw new ArgumentException("labelings must be of equal length");
        var counts = new int[rows][];
        for (int r = 0; r < rows; r++) counts[r] = new int[columns];
        for (int i = 0; i < x.Length; i++)
        {
            if ((uint)x[i] >= (uint)rows || (uint)y[i] >= (uint)columns)
                throw new ArgumentOutOfRangeException(nameof(x), $"label pair ({x[i]}, {y[i]}) is outside {rows}×{columns}");
            counts[x[i]][y[i]]++;
        }
        return counts;
    }
}

/// <summary>Counts from <see cref="Metrics.CompareMotion"/>; add them to pool clips.</summary>
/// <param name="Transitions">Transitions compared.</param>
/// <param name="MovingReal">Transitions in which the real view moves.</param>
/// <param name="MovingGenerated">Transitions in which the generated view moves.</param>
/// <param name="SameDirection">Transitions in which the real view moves and the generated one moves the same way.</param>
public readonly record struct MotionComparison(int Transitions, int MovingReal, int MovingGenerated, int SameDirection)
{
    /// <summary>Share of transitions in which the real view moves.</summary>
    public double MovingRealShare => Transitions == 0 ? 0 : (double)MovingReal / Transitions;
    /// <summary>Share of transitions in which the generated view moves.</summary>
    public double MovingGeneratedShare => Transitions == 0 ? 0 : (double)MovingGenerated / Transitions;
    /// <summary>Of the transitions in which the real view moves, the share where the generated one moves the same way.</summary>
    public double DirectionAgreement => MovingReal == 0 ? 0 : (double)SameDirection / MovingReal;
    /// <summary>The counts of two comparisons together.</summary>
    public static MotionComparison operator +(MotionComparison a, MotionComparison b) =>
        new(a.Transitions + b.Transitions, a.MovingReal + b.MovingReal, a.MovingGenerated + b.MovingGenerated, a.SameDirection + b.SameDirection);
}
