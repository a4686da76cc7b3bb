using Genie.Engine.Autograd;

namespace Genie.Engine;

/// <summary>Result of <see cref="Ops.VectorQuantize"/>.</summary>
/// <param name="Quantized">Straight-through output e + sg(q − e), shape of the input: its value is the chosen
/// (normalised) code, its gradient flows to the encoder output.</param>
/// <param name="Ids">Index of the chosen code for every row.</param>
/// <param name="Loss">‖sg(e) − q‖² + β‖e − sg(q)‖², means over elements (one-element tensor).</param>
/// <param name="Counts">How many rows chose each code (length K), for usage, perplexity and dead-code reseeding.</param>
/// <param name="Normalized">The L2-normalised encoder output e (rows × L), for reseeding codes from the batch.</param>
public sealed record VqResult(Tensor Quantized, int[] Ids, Tensor Loss, int[] Counts, Tensor Normalized);

public static partial class Ops
{
    /// <summary>Mean squared error over all elements: mean((a − b)²).</summary>
    public static Tensor MseLoss(Tensor a, Tensor b)
    {
        if (!Tensor.SameShape(a.Shape, b.Shape)) throw new ArgumentException($"mse: shapes differ: {a.ShapeString} and {b.ShapeString}");
        int n = a.Size;
        var y = Tensor.Scalar((float)(a.Backend.SquaredErrorSum(a, b) / n));
        if (Tape.ShouldRecord(a, b))
            Tape.Record("mse", y, () =>
            {
                float k = 2f * y.Grad!.Item() / n;
                a.Backend.SquaredErrorBackward(a.RequiresGrad ? a.GradOrZeros() : null, b.RequiresGrad ? b.GradOrZeros() : null, a, b, k);
            });
        return y;
    }

    /// <summary>
    /// Softmax cross-entropy of logits (R, K) against integer targets, averaged over the rows whose
    /// <paramref name="mask"/> entry is non-zero (all rows when mask is null). Mask entries are weights: the loss is
    /// Σ mask[r]·ce[r] / Σ mask[r], so a 0/1 mask is a plain average over the chosen rows. Returns 0 when no row counts.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, float[]? mask = null)
    {
        if (logits.Rank != 2) throw new ArgumentException($"cross-entropy needs logits (rows, classes), not {logits.ShapeString}");
        int rows = logits.Shape[0];
        if (targets.Length != rows) throw new ArgumentException($"cross-entropy: {targets.Length} targets for logits {logits.ShapeString}");
        if (mask is not null && mask.Length != rows) throw new ArgumentException($"cross-entropy: mask of {mask.Length} for logits {logits.ShapeString}");
        var perRow = Tensor.Empty(rows);
        var lse = Tensor.Empty(rows);
        logits.Backend.CrossEntropy(perRow, lse, logits, targets, mask);
        double count = 0;
        if (mask is null) count = rows;
        else foreach (var m in mask) count += m;
        float denom = (float)Math.Max(count, 1);
        var y = Tensor.Scalar((float)(logits.Backend.Sum(perRow) / denom));
        if (Tape.ShouldRecord(logits))
            Tape.Record("cross_entropy", y, () =>
                logits.Backend.CrossEntropyBackward(logits.GradOrZeros(), logits, lse, targets, mask, y.Grad!.Item() / denom));
        return y;
    }

    /// <summary>
    /// Vector quantisation exactly as ARCHITECTURE.md §3: the encoder output e (R, L) and every code of the
    /// codebook (K, L) are L2-normalised, each row takes the code with the largest dot product, the output
    /// is e + sg(q − e) (straight-through), and the loss is mean((sg(e) − q)²) + β·mean((e − sg(q))²).
    /// </summary>
    public static VqResult VectorQuantize(Tensor e, Tensor codebook, float beta = 0.25f)
    {
        if (e.Rank != 2 || codebook.Rank != 2 || e.Shape[1] != codebook.Shape[1])
            throw new ArgumentException($"vector quantise: encoder output {e.ShapeString} must be (rows, L) and codebook {codebook.ShapeString} (K, L)");
        int rows = e.Shape[0], k = codebook.Shape[0];
        var en = L2Normalize(e);              // (R, L)
        var cn = L2Normalize(codebook);       // (K, L)
        var ids = new int[rows];
        using (Tape.NoGrad())
        {
            var sim = MatMul(en, cn, transB: true);   // (R, K) cosine similarities
            e.Backend.ArgMaxRows(ids, sim);
        }
        var counts = new int[k];
        foreach (var id in ids) counts[id]++;
        var q = GatherRows(cn, ids);          // (R, L), the chosen normalised codes
        var codebookLoss = MseLoss(en.Detach(), q);
        var commitLoss = MseLoss(en, q.Detach());
        var loss = Add(codebookLoss, Scale(commitLoss, beta));
        var straightThrough = Add(en, Sub(q, en).Detach());
        return new VqResult(straightThrough, ids, loss, counts, en);
    }
}
