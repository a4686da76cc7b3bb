using Genie.Core;
using Genie.Engine;

namespace Genie.Nn;

/// <summary>Codebook health of one batch.</summary>
/// <param name="Used">Distinct codes chosen in the batch.</param>
/// <param name="Perplexity">exp(entropy) of the batch's code distribution: K when uniform, 1 when collapsed.</param>
/// <param name="Reseeded">Codes re-seeded after this batch.</param>
public readonly record struct CodebookStats(int Used, double Perplexity, int Reseeded);

/// <summary>
/// Vector quantiser of ARCHITECTURE.md §3: codebook (K, L); nearest code by dot product of L2-normalised
/// vectors; straight-through; loss ‖sg(e) − q‖² + β‖e − sg(q)‖². A code unused for <c>deadAfter</c>
/// consecutive training steps is re-seeded from a random (normalised) encoder output of the current batch.
/// Codes start out "unused since forever", so the first update seeds every code the first batch did not pick
/// from that batch's encoder outputs (data-dependent initialisation): at initialisation the encoder's outputs
/// fill only a narrow cone, and random codes would leave all of them nearest to one code (collapse).
/// </summary>
public sealed class VectorQuantizer : Module
{
    private readonly long[] _lastUsed;   // training step at which each code was last chosen

    /// <summary>(K, L); no weight decay (the codes are normalised anyway).</summary>
    public Tensor Codebook { get; }
    /// <summary>Number of codes K.</summary>
    public int Size { get; }
    /// <summary>Code width L.</summary>
    public int Width { get; }
    /// <summary>Commitment weight β.</summary>
    public float Beta { get; }
    /// <summary>Steps without use after which a code is re-seeded (0 disables).</summary>
    public int DeadAfter { get; }

    /// <summary>A codebook of <paramref name="size"/> codes of width <paramref name="width"/>, N(0, 1) initialised.</summary>
    public VectorQuantizer(int size, int width, float beta, int deadAfter, Rng rng)
    {
        Size = size;
        Width = width;
        Beta = beta;
        DeadAfter = deadAfter;
        Codebook = Param("codebook", [size, width], decay: false, t => Init.Normal(t, rng, 1f));
        _lastUsed = new long[size];
        Array.Fill(_lastUsed, long.MinValue / 2);
    }

    /// <summary>e (rows, L) → quantised (straight-through) values, ids, loss and counts.</summary>
    public VqResult Forward(Tensor e) => Ops.VectorQuantize(e, Codebook, Beta);

    /// <summary>The L2-normalised code vectors for the given ids: (ids.Length, L). No gradient.</summary>
    public Tensor Lookup(int[] ids)
    {
        using var _ = Engine.Autograd.Tape.NoGrad();
        return Ops.GatherRows(Ops.L2Normalize(Codebook), ids);
    }

    /// <summary>
    /// Records which codes this training step used, re-seeds codes unused for <see cref="DeadAfter"/> steps
    /// from random rows of the batch's normalised encoder output, and returns usage and perplexity.
    /// Call once per optimiser step, after the step (so a re-seeded code is not overwritten by Adam's update).
    /// </summary>
    public CodebookStats Update(VqResult vq, long step, Rng rng)
    {
        int used = 0;
        double total = vq.Ids.Length, entropy = 0;
        for (int k = 0; k < Size; k++)
        {
            if (vq.Counts[k] == 0) continue;
            used++;
            _lastUsed[k] = step;
            double p = vq.Counts[k] / total;
            entropy -= p * Math.Log(p);
        }
        int reseeded = 0;
        if (DeadAfter > 0 && vq.Ids.Length > 0)
        {
            var rows = vq.Normalized.ToArray();
            var book = Codebook.ToArray();
            for (int k = 0; k < Size; k++)
            {
                if (step - _lastUsed[k] < DeadAfter) continue;
                int r = rng.NextInt(vq.Ids.Length);
                Array.Copy(rows, (long)r * Width, book, (long)k * Width, Width);
                _lastUsed[k] = step;    // give the new code time to be picked
                reseeded++;
            }
            if (reseeded > 0) Codebook.CopyFrom(book);
        }
        return new CodebookStats(used, Math.Exp(entropy), reseeded);
    }

    /// <summary>
    /// Merges near-duplicate codes, for a trained and frozen codebook: codes are visited from the most used
    /// (<paramref name="usage"/>, ties by id) down, and each joins the first earlier representative whose direction is
    /// within <paramref name="threshold"/> (cosine), else becomes a representative itself (greedy, so no chains of
    /// merges drift far from a representative). Every code's vector is then set to its representative's, so the
    /// nearest-code search gives one id per group (the lowest among equal vectors) and a patch no longer flickers
    /// between synonyms that decode alike. Returns each code's representative.
    /// </summary>
    public int[] MergeNearDuplicates(ReadOnlySpan<long> usage, double threshold)
    {
        if (usage.Length != Size) throw new ArgumentException($"usage has {usage.Length} entries for {Size} codes");
        if (!(threshold > 0 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), "the cosine threshold must be in (0, 1)");
        var book = Codebook.ToArray();
        var unit = new float[book.Length];
        for (int k = 0; k < Size; k++)
        {
            double sq = 0;
            for (int j = 0; j < Width; j++) sq += book[k * Width + j] * book[k * Width + j];
            double norm = Math.Max(1e-12, Math.Sqrt(sq));
            for (int j = 0; j < Width; j++) unit[k * Width + j] = (float)(book[k * Width + j] / norm);
        }
        var counts = usage.ToArray();
        var order = Enumerable.Range(0, Size).OrderByDescending(k => counts[k]).ThenBy(k => k).ToList();
        var representatives = new List<int>();
        var repOf = new int[Size];
        foreach (int k in order)
        {
            int found = -1;
            foreach (int r in representatives)
            {
                double cos = 0;
                for (int j = 0; j < Width; j++) cos += unit[k * Width + j] * unit[r * Width + j];
                if (cos > threshold) { found = r; break; }
            }
            if (found < 0) representatives.Add(found = k);
            repOf[k] = found;
        }
        var merged = (float[])book.Clone();
        for (int k = 0; k < Size; k++) Array.Copy(book, repOf[k] * Width, merged, k * Width, Width);
        Codebook.CopyFrom(merged);
        return repOf;
    }

    /// <summary>Step at which each code was last used (saved in checkpoints so resume is exact).</summary>
    public long[] LastUsed => _lastUsed;
}
