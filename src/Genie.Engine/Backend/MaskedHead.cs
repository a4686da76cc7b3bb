using Genie.Engine.Kernels;

namespace Genie.Engine.Backend;

/// <summary>
/// MaskGIT's sampling head on a backend: a linear layer (weights (K, D), bias (K), prepared once) whose logits are
/// made only for the rows MaskGIT still has to sample, and each row sampled where its logits were made, so a
/// block's logits never leave the core that computed them. Made by <see cref="IBackend.CreateMaskedHead"/>; holds a
/// prepared copy of the weights, so later updates to them are not seen.
/// </summary>
public interface IMaskedHead : IDisposable
{
    /// <summary>Codes K (the layer's outputs).</summary>
    int Codes { get; }

    /// <summary>
    /// For each i: the logits of row <paramref name="firstRow"/> + <paramref name="rows"/>[i] of
    /// <paramref name="hidden"/> (…, D), then <paramref name="codes"/>[i] drawn with <paramref name="draws"/>[i] ∈ [0, 1)
    /// from softmax(logits / τ), with that probability as <paramref name="confidence"/>[i]; at τ = 0 the argmax, with
    /// its untempered probability. The result depends on neither the thread count nor the order of the rows.
    /// </summary>
    void Sample(Tensor hidden, int firstRow, ReadOnlySpan<int> rows, float temperature, ReadOnlySpan<double> draws, Span<int> codes, Span<double> confidence);
}

/// <summary>The CPU's <see cref="IMaskedHead"/>: packed weights, blocks of rows sampled in parallel by the workers.</summary>
internal sealed unsafe class CpuMaskedHead : IMaskedHead
{
    private readonly Gemm.PackedB _weight;
    private readonly Tensor? _bias;
    private readonly int _d;

    public CpuMaskedHead(Tensor weight, Tensor? bias)
    {
        if (weight.Rank != 2) throw new ArgumentException($"the head's weights must be (K, D), got {weight.ShapeString}");
        if (bias is not null && bias.Size != weight.Shape[0]) throw new ArgumentException($"bias {bias.ShapeString} does not match weights {weight.ShapeString}");
        _d = weight.Shape[1];
        Codes = weight.Shape[0];
        _weight = Gemm.PackB(true, _d, Codes, weight.Pointer, _d);
        _bias = bias;
    }

    public int Codes { get; }

    public void Sample(Tensor hidden, int firstRow, ReadOnlySpan<int> rows, float temperature, ReadOnlySpan<double> draws, Span<int> codes, Span<double> confidence)
    {
        if (hidden.Shape[^1] != _d) throw new ArgumentException($"hidden states {hidden.ShapeString} are not of width {_d}");
        if (draws.Length < rows.Length || codes.Length < rows.Length || confidence.Length < rows.Length)
            throw new ArgumentException($"{rows.Length} rows need as many draws, codes and confidences");
        foreach (int r in rows)
            if (r < 0 || (long)(firstRow + r + 1) * _d > hidden.Size) throw new ArgumentOutOfRangeException(nameof(rows), $"row {firstRow + r} is outside hidden states {hidden.ShapeString}");
        int n = rows.Length, d = _d, k = Codes;
        float* h = hidden.Pointer + (long)firstRow * d, bias = _bias is null ? null : _bias.Pointer;
        var weight = _weight;
        // Copies for the workers (spans cannot cross into the lambda).
        int[] todo = rows.ToArray();
        double[] u = draws[..n].ToArray();
        var outCodes = new int[n];
        var outConf = new double[n];
        // Blocks of two 12-row register tiles; the blocks depend only on how many rows there are.
        Parallel.Workers.ForRange(n, 24, (s, e) =>
        {
            float* gathered = (_gathered ??= new()).Get((long)(e - s) * d);
            float* block = (_block ??= new()).Get((long)(e - s) * k);
            float* probs = (_probs ??= new()).Get(k);
            for (int r = s; r < e; r++)
                new ReadOnlySpan<float>(h + (long)todo[r] * d, d).CopyTo(new Span<float>(gathered + (long)(r - s) * d, d));
            Gemm.SgemmSerial(e - s, gathered, d, weight, block, weight.N, new GemmEpilogue(bias, false, null, 0));
            for (int r = s; r < e; r++)
            {
                float* row = block + (long)(r - s) * k;
                (outCodes[r], outConf[r]) = temperature > 0f
                    ? Sampling.SampleRow(row, k, temperature, u[r], probs)
                    : Sampling.Greedy(row, k, probs);
            }
        });
        outCodes.CopyTo(codes);
        outConf.CopyTo(confidence);
    }

    public void Dispose() => _weight.Dispose();

    // Per-thread buffers (grow-only, reused across calls): gathered hidden rows, a block's logits, one row's probabilities.
    [ThreadStatic] private static AlignedBuffer? _gathered, _block, _probs;
}
