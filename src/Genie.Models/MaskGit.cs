using System.Numerics.Tensors;
using Genie.Core;

namespace Genie.Models;

/// <summary>
/// MaskGIT decoding of one frame (ARCHITECTURE.md §6): start with all N tokens masked; at step s = 1..S
/// predict every masked position, sample it with temperature τ, take the sampled token's probability as its
/// confidence, keep the N − ⌊N·cos(π/2 · s/S)⌋ most confident tokens fixed (fixed ones stay fixed) and
/// re-mask the rest. After step S nothing is masked. With a choice temperature κ &gt; 0 (MaskGIT's own sampler) the
/// confidence is log p + κ·(1 − s/S)·g, g ~ Gumbel(0, 1), one g per open position drawn after the sampling draws.
/// </summary>
public static class MaskGit
{
    /// <summary>Tokens still masked after step <paramref name="step"/> of <paramref name="steps"/> (cosine schedule).</summary>
    public static int MaskedAfter(int tokens, int step, int steps)
    {
        if (step >= steps) return 0;
        return (int)Math.Floor(tokens * Math.Cos(Math.PI / 2 * step / steps));
    }

    /// <summary>
    /// The MaskGIT loop, the one every sampler in the project runs (the play session with its caches, the uncached
    /// reference, the evaluation): B frames of N tokens start all MASK; at each step s = 1..S,
    /// <paramref name="forward"/> runs the dynamics body on the current ids (B·N) and returns the final hidden
    /// states, in which frame c's N token rows start at row <c>firstRow(c)</c>; then each frame takes one
    /// <see cref="DynamicsModel.HeadSampler.Step"/>, frame 0
    /// first, all from <paramref name="rng"/>. Returns the sampled ids (B·N).
    /// </summary>
    public static int[] SampleFrames(DynamicsModel.HeadSampler head, int b, int n, int steps, float temperature, Rng rng,
        Func<int[], Engine.Tensor> forward, Func<int, int> firstRow)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), $"MaskGIT needs at least one step, got {steps}");
        var ids = new int[b * n];
        Array.Fill(ids, head.MaskId);
        var fixedMask = new bool[b * n];
        for (int s = 1; s <= steps; s++)
        {
            using var _ = new Engine.TensorScope();
            var hidden = forward(ids);
            for (int c = 0; c < b; c++)
                head.Step(hidden, firstRow(c), ids.AsSpan(c * n, n), fixedMask.AsSpan(c * n, n), s, steps, temperature, rng);
        }
        return ids;
    }

    /// <summary>
    /// One refinement step for one frame. <paramref name="logits"/> holds (N, K) logits of the frame;
    /// <paramref name="tokens"/> the current ids (MASK = <paramref name="maskId"/> where unknown), updated in
    /// place; <paramref name="fixedMask"/> marks fixed positions, updated in place. Returns the number of
    /// positions left masked.
    /// </summary>
    public static int Step(ReadOnlySpan<float> logits, int codebook, Span<int> tokens, Span<bool> fixedMask, int maskId,
        int step, int steps, float temperature, Core.Rng rng, float choiceTemperature = 0f)
    {
        if (logits.Length < (long)tokens.Length * codebook) throw new ArgumentException($"{logits.Length} logits do not cover {tokens.Length} tokens of {codebook} codes");
        var (open, draws) = Open(fixedMask, temperature, rng);
        var codes = new int[open.Length];
        var confidence = new double[open.Length];
        Engine.Kernels.Sampling.SampleRows(logits, codebook, open, temperature, draws, codes, confidence);
        AddChoiceNoise(confidence, step, steps, choiceTemperature, rng);
        return Fix(tokens, fixedMask, maskId, step, steps, open, codes, confidence);
    }

    /// <summary>
    /// The same step with the logits made by the backend's <paramref name="head"/> from the frame's final hidden
    /// states (rows <paramref name="firstRow"/>.. of <paramref name="hidden"/>), only for the positions still to
    /// sample, each block sampled on the core that made it (see <see cref="DynamicsModel.HeadSampler"/>).
    /// </summary>
    public static int Step(Engine.Backend.IMaskedHead head, Engine.Tensor hidden, int firstRow, Span<int> tokens, Span<bool> fixedMask, int maskId,
        int step, int steps, float temperature, Core.Rng rng, float choiceTemperature = 0f)
    {
        using var _ = Engine.Diagnostics.Profiler.Measure("MaskGIT logits + sampling");
        var (open, draws) = Open(fixedMask, temperature, rng);
        var codes = new int[open.Length];
        var confidence = new double[open.Length];
        head.Sample(hidden, firstRow, open, temperature, draws, codes, confidence);
        AddChoiceNoise(confidence, step, steps, choiceTemperature, rng);
        return Fix(tokens, fixedMask, maskId, step, steps, open, codes, confidence);
    }

    // MaskGIT's choice noise: confidence p → log p + κ·(1 − s/S)·g with g ~ Gumbel(0, 1), one draw per open position in
    // order. Only the ranking matters to Fix, so with κ = 0 the probabilities are left as they are (and no draw is taken).
    private static void AddChoiceNoise(double[] confidence, int step, int steps, float choiceTemperature, Core.Rng rng)
    {
        if (!(choiceTemperature >= 0) || float.IsInfinity(choiceTemperature)) throw new ArgumentOutOfRangeException(nameof(choiceTemperature), $"the choice temperature must be a finite number ≥ 0, got {choiceTemperature}");
        if (choiceTemperature == 0f) return;
        double scale = choiceTemperature * (1.0 - (double)step / steps);
        for (int j = 0; j < confidence.Length; j++)
        {
            double u = rng.NextDouble();
            double g = -Math.Log(-Math.Log(Math.Max(u, 1e-300)));
            confidence[j] = Math.Log(Math.Max(confidence[j], 1e-300)) + scale * g;
        }
    }

    // The positions still to sample, in order, and one random number for each, drawn first in token order: the
    // positions can then be sampled in parallel and the result depends on neither the thread count nor the order.
    private static (int[] Open, double[] Draws) Open(ReadOnlySpan<bool> fixedMask, float temperature, Core.Rng rng)
    {
        var open = new List<int>(fixedMask.Length);
        for (int i = 0; i < fixedMask.Length; i++) if (!fixedMask[i]) open.Add(i);
        var draws = new double[open.Count];
        if (temperature > 0f) for (int j = 0; j < draws.Length; j++) draws[j] = rng.NextDouble();
        return (open.ToArray(), draws);
    }

    // Keeps the most confident positions (fixed ones count as certain) and re-masks the rest; returns how many
    // stay masked.
    private static int Fix(Span<int> tokens, Span<bool> fixedMask, int maskId, int step, int steps, int[] open, int[] codes, double[] confidence)
    {
        int n = tokens.Length;
        var sampled = tokens.ToArray();
        var conf = new double[n];
        Array.Fill(conf, double.PositiveInfinity);
        for (int j = 0; j < open.Length; j++) { sampled[open[j]] = codes[j]; conf[open[j]] = confidence[j]; }
        int stillMasked = MaskedAfter(n, step, steps);
        int keep = n - stillMasked;
        // The `keep` most confident positions become fixed; ties break towards the lower index.
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => conf[b] != conf[a] ? conf[b].CompareTo(conf[a]) : a.CompareTo(b));
        for (int r = 0; r < n; r++)
        {
            int i = order[r];
            if (r < keep) { tokens[i] = sampled[i]; fixedMask[i] = true; }
            else { tokens[i] = maskId; fixedMask[i] = false; }
        }
        return stillMasked;
    }
}
