using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Genie.Engine.Kernels;

/// <summary>
/// One draw from a categorical distribution given by a row of logits, as MaskGIT samples each masked token:
/// p ∝ exp((logit − max) / τ). Oracle: <see cref="SamplingReference"/>.
/// </summary>
/// <remarks>
/// Two vector passes over the row (max; exponentials, stored, and their sum), then a walk of the cumulative sum
/// in double that skips whole vectors whose mass stays below the draw. Serial: callers sample many rows in
/// parallel.
/// </remarks>
public static unsafe class Sampling
{
    /// <summary>
    /// The code i whose cumulative probability first exceeds <paramref name="draw"/> ∈ [0, 1) under
    /// softmax(<paramref name="logits"/> / <paramref name="temperature"/>), and its probability.
    /// <paramref name="scratch"/> holds <paramref name="codes"/> floats (the unnormalised probabilities on return).
    /// </summary>
    public static (int Code, double Probability) SampleRow(float* logits, int codes, float temperature, double draw, float* scratch)
    {
        if (codes <= 0) throw new ArgumentOutOfRangeException(nameof(codes), "a row needs at least one code");
        if (!(temperature > 0f)) throw new ArgumentOutOfRangeException(nameof(temperature), $"temperature must be positive, got {temperature}");
        return SimdPath.Bits switch
        {
            >= 512 => Sample<Vector512<float>, V512>(logits, codes, temperature, draw, scratch),
            >= 256 => Sample<Vector256<float>, V256>(logits, codes, temperature, draw, scratch),
            >= 128 => Sample<Vector128<float>, V128>(logits, codes, temperature, draw, scratch),
            _ => Sample<float, V1>(logits, codes, temperature, draw, scratch),
        };
    }

    /// <summary>
    /// Greedy decoding of a row: the argmax and its untempered probability 1 / Σ exp(logit − max).
    /// <paramref name="scratch"/> holds <paramref name="codes"/> floats.
    /// </summary>
    public static (int Code, double Probability) Greedy(float* logits, int codes, float* scratch)
    {
        if (codes <= 0) throw new ArgumentOutOfRangeException(nameof(codes), "a row needs at least one code");
        var row = new ReadOnlySpan<float>(logits, codes);
        var probs = new Span<float>(scratch, codes);
        int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
        System.Numerics.Tensors.TensorPrimitives.Subtract(row, row[best], probs);
        System.Numerics.Tensors.TensorPrimitives.Exp(probs, probs);
        return (best, 1.0 / System.Numerics.Tensors.TensorPrimitives.Sum(probs));
    }

    /// <summary>
    /// Rows <paramref name="rows"/> of a logits matrix (…, <paramref name="codes"/>) that is already there, each sampled
    /// as by <see cref="SampleRow(float*, int, float, double, float*)"/> with its draw (or, at τ = 0, by
    /// <see cref="Greedy"/>), serially: for tests and small cases; play uses <see cref="Backend.IMaskedHead"/>.
    /// </summary>
    public static void SampleRows(ReadOnlySpan<float> logits, int codes, ReadOnlySpan<int> rows, float temperature, ReadOnlySpan<double> draws,
        Span<int> outCodes, Span<double> confidence)
    {
        var scratch = new float[codes];
        fixed (float* pl = logits)
        fixed (float* ps = scratch)
            for (int i = 0; i < rows.Length; i++)
            {
                if (rows[i] < 0 || (long)(rows[i] + 1) * codes > logits.Length) throw new ArgumentOutOfRangeException(nameof(rows), $"row {rows[i]} is outside {logits.Length} logits of {codes} codes");
                float* row = pl + (long)rows[i] * codes;
                (outCodes[i], confidence[i]) = temperature > 0f ? SampleRow(row, codes, temperature, draws[i], ps) : Greedy(row, codes, ps);
            }
    }

    private static (int, double) Sample<TV, O>(float* x, int k, float temperature, double draw, float* e)
        where TV : unmanaged where O : struct, IVec<TV>
    {
        int w = O.Width, whole = k - k % w;
        // Max.
        var vm = O.Create(float.NegativeInfinity);
        for (int i = 0; i < whole; i += w) vm = O.Max(vm, O.Load(x + i));
        float mx = whole > 0 ? O.MaxAcross(vm) : float.NegativeInfinity;
        for (int i = whole; i < k; i++) mx = MathF.Max(mx, x[i]);
        // e_i = exp((x_i − max) / τ) and Σ e.
        float invT = 1f / temperature;
        var vMax = O.Create(mx);
        var vInvT = O.Create(invT);
        var vs = O.Zero;
        for (int i = 0; i < whole; i += w)
        {
            var v = O.Exp(O.Mul(O.Sub(O.Load(x + i), vMax), vInvT));
            O.Store(v, e + i);
            vs = O.Add(vs, v);
        }
        float tail = 0f;
        for (int i = whole; i < k; i++) { e[i] = MathF.Exp((x[i] - mx) * invT); tail += e[i]; }
        double z = O.SumAcross(vs) + tail;
        // Walk the cumulative sum to u = draw · z.
        double u = draw * z, acc = 0;
        for (int i = 0; i < k; i += w)
        {
            int end = Math.Min(k, i + w);
            if (end - i == w)
            {
                double block = O.SumAcross(O.Load(e + i));
                if (acc + block <= u) { acc += block; continue; }
            }
            for (int j = i; j < end; j++) { acc += e[j]; if (u < acc) return (j, e[j] / z); }
        }
        // Rounding can leave u at or past the end of the walk: take the most probable code then.
        int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(e, k));
        return (best, e[best] / z);
    }
}

/// <summary>The plain oracle for <see cref="Sampling"/>: double precision, one scalar loop per step.</summary>
internal static unsafe class SamplingReference
{
    /// <summary>See <see cref="Sampling.SampleRow"/>.</summary>
    public static (int Code, double Probability) SampleRow(float* logits, int codes, float temperature, double draw)
    {
        double mx = double.NegativeInfinity;
        for (int i = 0; i < codes; i++) mx = Math.Max(mx, logits[i]);
        var p = new double[codes];
        double z = 0;
        for (int i = 0; i < codes; i++) { p[i] = Math.Exp((logits[i] - mx) / temperature); z += p[i]; }
        double acc = 0;
        for (int i = 0; i < codes; i++) { acc += p[i] / z; if (draw < acc) return (i, p[i] / z); }
        return (codes - 1, p[codes - 1] / z);
    }
}
