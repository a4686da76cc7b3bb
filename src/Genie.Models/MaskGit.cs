using System.Numerics.Tensors;
using Genie.Core;

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
    /// The MaskGIT loop, the one every sampler in the project runs (the play session with its caches, the uncached
    /// reference, the evaluation): B frames of N tokens start all MASK; at each step s = 1..S,
    /// <paramref name="forward"/> runs the dynamics body on the current ids (B·N) and returns the final hidden
    /// states, in which frame c's N token rows start at row <c>firstRow(c)</c>; then each frame takes one
    /// <see cref="Step(IRowLogits, int, Span{int}, Span{bool}, int, int, int, float, Rng)"/>, frame 0
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
    public static unsafe int Step(ReadOnlySpan<float> logits, int codebook, Span<int> tokens, Span<bool> fixedMask, int maskId,
        int step, int steps, float temperature, Rng rng)
    {
        if (logits.Length < (long)tokens.Length * codebook) throw new ArgumentException($"{logits.Length} logits do not cover {tokens.Length} tokens of {codebook} codes");
        fixed (float* pl = logits)
            return Step(new LogitRows(pl, codebook), codebook, tokens, fixedMask, maskId, step, steps, temperature, rng);
    }

    /// <summary>
    /// The same step with the logits computed on demand, only for the positions still to sample:
    /// <paramref name="rows"/> is asked for blocks of positions by the workers that sample them, so each block's
    /// logits are made and used in one core's cache (see <see cref="DynamicsModel.HeadSampler"/>).
    /// </summary>
    public static unsafe int Step(IRowLogits rows, int codebook, Span<int> tokens, Span<bool> fixedMask, int maskId,
        int step, int steps, float temperature, Rng rng)
    {
        using var _ = Engine.Diagnostics.Profiler.Measure("MaskGIT logits + sampling");
        int n = tokens.Length;
        var sampled = new int[n];
        var confidence = new double[n];
        // The random numbers are drawn first, in token order, one per position still to sample: the positions
        // can then be sampled in parallel and the result depends on neither the thread count nor the order.
        var draws = new double[n];
        var open = new List<int>(n);
        for (int i = 0; i < n; i++)
        {
            if (fixedMask[i]) { sampled[i] = tokens[i]; confidence[i] = double.PositiveInfinity; continue; }
            open.Add(i);
            if (temperature > 0f) draws[i] = rng.NextDouble();
        }
        int[] todo = open.ToArray();
        // Blocks of two 12-row register tiles; the blocks depend only on which positions are open.
        Engine.Parallel.Workers.ForRange(todo.Length, 24, (s, e) =>
        {
            float* block = (_block ??= new()).Get((long)(e - s) * codebook);
            float* probs = (_probs ??= new()).Get(codebook);
            rows.Compute(new ReadOnlySpan<int>(todo, s, e - s), block);
            for (int r = s; r < e; r++)
            {
                int i = todo[r];
                float* row = block + (long)(r - s) * codebook;
                (sampled[i], confidence[i]) = temperature > 0f
                    ? Engine.Kernels.Sampling.SampleRow(row, codebook, temperature, draws[i], probs)
                    : Greedy(new ReadOnlySpan<float>(row, codebook), new Span<float>(probs, codebook));
            }
        });
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

    // Per-thread buffers for a block's logits and one row's probabilities (grow-only, reused across steps).
    [ThreadStatic] private static Engine.Kernels.AlignedBuffer? _block, _probs;

    /// <summary>Rows of a logits matrix that is already there (N, K).</summary>
    private sealed unsafe class LogitRows(float* logits, int codebook) : IRowLogits
    {
        public void Compute(ReadOnlySpan<int> rows, float* output)
        {
            for (int r = 0; r < rows.Length; r++)
                new ReadOnlySpan<float>(logits + (long)rows[r] * codebook, codebook).CopyTo(new Span<float>(output + (long)r * codebook, codebook));
        }
    }

    /// <summary>Greedy decoding of one position: the argmax, with its untempered probability as the confidence.</summary>
    private static (int Code, double Confidence) Greedy(ReadOnlySpan<float> row, Span<float> probs)
    {
        int best = TensorPrimitives.IndexOfMax(row);
        TensorPrimitives.Subtract(row, row[best], probs);
        TensorPrimitives.Exp(probs, probs);
        return (best, 1.0 / TensorPrimitives.Sum(probs));
    }
}

/// <summary>Computes the logits of chosen positions of one frame, on demand (MaskGIT asks only for masked ones).</summary>
public unsafe interface IRowLogits
{
    /// <summary>Writes the K logits of position <c>rows[r]</c> to <c>output + r·K</c> for every r. Called from
    /// several worker threads at once, each with its own rows and output.</summary>
    void Compute(ReadOnlySpan<int> rows, float* output);
}
