using System.Numerics.Tensors;
using Genie.Engine.Parallel;

namespace Genie.Engine.Kernels;

/// <summary>Loss kernels and reductions.</summary>
public static unsafe class Loss
{
    private const int Grain = 1 << 15;

    /// <summary>
    /// Per-row softmax cross-entropy: loss[r] = mask[r] · (logsumexp(logits[r]) − logits[r, target[r]]) (the mask is a
    /// weight per row: 0 leaves a row out, 1 counts it once). Saves logsumexp per row in <paramref name="lse"/>.
    /// </summary>
    public static void CrossEntropyForward(float* loss, float* lse, float* logits, int* targets, float* mask, int rows, int classes) =>
        Workers.ForRange(rows, Math.Max(1, Grain / classes), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var row = new ReadOnlySpan<float>(logits + (long)r * classes, classes);
                float mx = TensorPrimitives.Max(row);
                float sum = 0f;
                for (int i = 0; i < classes; i++) sum += MathF.Exp(row[i] - mx);
                float l = mx + MathF.Log(sum);
                lse[r] = l;
                int t = targets[r];
                if ((uint)t >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(targets), $"target {t} at row {r} is outside [0, {classes})");
                loss[r] = mask == null ? l - row[t] : mask[r] != 0f ? mask[r] * (l - row[t]) : 0f;
            }
        });

    /// <summary>dlogits[r] += scale[r] · (softmax(logits[r]) − onehot(target[r])), with scale[r] = g·mask[r].</summary>
    public static void CrossEntropyBackward(float* dlogits, float* logits, float* lse, int* targets, float* mask, float g, int rows, int classes) =>
        Workers.ForRange(rows, Math.Max(1, Grain / classes), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                float scale = mask == null ? g : g * mask[r];
                if (scale == 0f) continue;
                long o = (long)r * classes;
                float l = lse[r];
                for (int i = 0; i < classes; i++) dlogits[o + i] += scale * MathF.Exp(logits[o + i] - l);
                dlogits[o + targets[r]] -= scale;
            }
        });

    /// <summary>Σ (a − b)² over n elements (deterministic, see <see cref="ChunkedSum"/>).</summary>
    public static double SquaredErrorSum(float* a, float* b, int n) =>
        ChunkedSum(n, (s, e) =>
        {
            Span<float> d = stackalloc float[1024];
            double acc = 0;
            for (int i = s; i < e; i += d.Length)
            {
                int m = Math.Min(d.Length, e - i);
                var ds = d[..m];
                TensorPrimitives.Subtract(new ReadOnlySpan<float>(a + i, m), new ReadOnlySpan<float>(b + i, m), ds);
                acc += TensorPrimitives.Dot(ds, ds);
            }
            return acc;
        });

    /// <summary>da += k·(a − b), db −= k·(a − b). Either gradient may be null.</summary>
    public static void SquaredErrorBackward(float* da, float* db, float* a, float* b, float k, int n) =>
        Workers.ForRange(n, Grain, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float d = k * (a[i] - b[i]);
                if (da != null) da[i] += d;
                if (db != null) db[i] -= d;
            }
        });

    /// <summary>Σ x over n elements, in double (deterministic, see <see cref="ChunkedSum"/>).</summary>
    public static double Sum(float* x, int n) =>
        ChunkedSum(n, (s, e) =>
        {
            double acc = 0;
            for (int i = s; i < e; i += 1024) acc += TensorPrimitives.Sum(new ReadOnlySpan<float>(x + i, Math.Min(1024, e - i)));
            return acc;
        });

    /// <summary>Σ x² over n elements, in double (gradient norms; deterministic, see <see cref="ChunkedSum"/>).</summary>
    public static double SumOfSquares(float* x, int n) =>
        ChunkedSum(n, (s, e) =>
        {
            double acc = 0;
            for (int i = s; i < e; i += 1024)
            {
                var xs = new ReadOnlySpan<float>(x + i, Math.Min(1024, e - i));
                acc += TensorPrimitives.Dot(xs, xs);
            }
            return acc;
        });

    /// <summary>
    /// A reduction over [0, n) in chunks of <see cref="Grain"/> elements: <paramref name="chunk"/>(start, end)
    /// reduces one chunk, chunks run in parallel, and their results are added in chunk order. The chunking
    /// depends only on n, so the result does not depend on the thread count.
    /// </summary>
    private static double ChunkedSum(int n, Func<int, int, double> chunk)
    {
        int chunks = Math.Max(1, (n + Grain - 1) / Grain);
        var partial = new double[chunks];
        Workers.For(chunks, c => partial[c] = chunk(c * Grain, Math.Min(n, (c + 1) * Grain)));
        double total = 0;
        foreach (var p in partial) total += p;
        return total;
    }
}
