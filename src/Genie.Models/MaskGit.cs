using System.Numerics.Tensors;

namespace Genie.Models;

/// <summary>
/// MaskGIT decoding of one frame (ARCHITECTURE.md §6): start with all N tokens masked; at step s = 1..S
/// predict every masked position, sample it with temperature τ, take the sampled token's probability as its
/// confidence, keep the N − ⌊N·cos(π/2 · s/S)⌋ most confident tokens fixed (fixed ones stay fixed) and
/// re-mask the rest. After step S nothing is masked.
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
    /// One refinement step for one frame. <paramref name="logits"/> holds (N, K) logits of the frame;
    /// <paramref name="tokens"/> the current ids (MASK = <paramref name="maskId"/> where unknown), updated in
    /// place; <paramref name="fixedMask"/> marks fixed positions, updated in place. Returns the number of
    /// positions left masked.
    /// </summary>
    public static unsafe int Step(ReadOnlySpan<float> logits, int codebook, Span<int> tokens, Span<bool> fixedMask, int maskId,
        int step, int steps, float temperature, Engine.Rng rng)
    {
        int n = tokens.Length;
        if (logits.Length < (long)n * codebook) throw new ArgumentException($"{logits.Length} logits do not cover {n} tokens of {codebook} codes");
        var sampled = new int[n];
        var confidence = new double[n];
        // The random numbers are drawn first, in token order, one per position still to sample: the positions
        // can then be sampled in parallel and the result depends on neither the thread count nor the order.
        var draws = new double[n];
        for (int i = 0; i < n; i++)
        {
            if (fixedMask[i]) { sampled[i] = tokens[i]; confidence[i] = double.PositiveInfinity; }
            else if (temperature > 0f) draws[i] = rng.NextDouble();
        }
        bool[] isFixed = fixedMask.ToArray();
        fixed (float* pl = logits)
        {
            float* lp = pl;
            Engine.Parallel.Workers.ForRange(n, 16, (s, e) =>
            {
                var probs = new float[codebook];
                for (int i = s; i < e; i++)
                    if (!isFixed[i]) (sampled[i], confidence[i]) = Sample(new ReadOnlySpan<float>(lp + (long)i * codebook, codebook), probs, temperature, draws[i]);
            });
        }
        int stillMasked = MaskedAfter(n, step, steps);
        int keep = n - stillMasked;
        // The `keep` most confident positions become fixed; ties break towards the lower index.
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => confidence[b] != confidence[a] ? confidence[b].CompareTo(confidence[a]) : a.CompareTo(b));
        for (int r = 0; r < n; r++)
        {
            int i = order[r];
            if (r < keep) { tokens[i] = sampled[i]; fixedMask[i] = true; }
            else { tokens[i] = maskId; fixedMask[i] = false; }
        }
        return stillMasked;
    }

    /// <summary>
    /// One position: the code drawn from softmax(<paramref name="row"/> / τ) with the uniform number
    /// <paramref name="draw"/> (or the argmax when τ ≤ 0), and its probability as the confidence.
    /// </summary>
    private static (int Code, double Confidence) Sample(ReadOnlySpan<float> row, Span<float> probs, float temperature, double draw)
    {
        int codebook = row.Length;
        if (temperature <= 0f)
        {
            // Greedy: the argmax, with its untempered probability as the confidence.
            int best = TensorPrimitives.IndexOfMax(row);
            TensorPrimitives.Subtract(row, row[best], probs);
            TensorPrimitives.Exp(probs, probs);
            return (best, 1.0 / TensorPrimitives.Sum(probs));
        }
        // p ∝ exp((logit − max) / τ), vectorised; the draw walks the cumulative sum in double, skipping whole
        // vectors of codes whose mass stays below it.
        TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), probs);
        TensorPrimitives.Multiply(probs, 1f / temperature, probs);
        TensorPrimitives.Exp(probs, probs);
        double z = TensorPrimitives.Sum(probs);
        double u = draw * z, acc = 0;
        int pick = -1, w = System.Numerics.Vector<float>.Count, k = 0;
        for (; k < codebook && pick < 0; k += w)
        {
            int end = Math.Min(codebook, k + w);
            if (end - k == w)
            {
                double chunk = System.Numerics.Vector.Sum(new System.Numerics.Vector<float>(probs.Slice(k, w)));
                if (acc + chunk <= u) { acc += chunk; continue; }
            }
            for (int j = k; j < end; j++) { acc += probs[j]; if (u < acc) { pick = j; break; } }
        }
        // The float sum z and the running double sum can differ in the last bit; if u lands past the
        // end, take the most probable code rather than whatever code happens to come last.
        if (pick < 0) pick = TensorPrimitives.IndexOfMax(probs);
        return (pick, probs[pick] / z);
    }
}
