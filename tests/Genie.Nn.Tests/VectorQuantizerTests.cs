using Genie.Core;
using Genie.Engine;
using Genie.Engine.Autograd;
using Genie.Nn;

namespace Genie.Nn.Tests;

public class VectorQuantizerTests
{
    private static float[] Row(float[] m, int r, int w) => m.AsSpan(r * w, w).ToArray();

    [Fact]
    public void DeadCodes_AreReseededFromTheBatch_AfterDeadAfterStepsWithoutUse()
    {
        const int k = 6, l = 4, deadAfter = 5;
        var vq = new VectorQuantizer(k, l, 0.25f, deadAfter, new Rng(1));
        var rng = new Rng(2);
        // Every batch row is the same vector, so each step picks exactly one code.
        var e = Tensor.Persistent(10, l);
        e.CopyFrom(Enumerable.Range(0, 10 * l).Select(i => i % l == 0 ? 1f : 0.1f * (i % l)).ToArray());
        VqResult Batch() { using var _ = Tape.NoGrad(); return vq.Forward(e); }

        using (new TensorScope())
        {
            // Step 1: codes start unused-since-forever, so all unpicked codes are seeded from the batch.
            var first = Batch();
            var stats = vq.Update(first, 1, rng);
            Assert.Equal(k - 1, stats.Reseeded);
            var book = vq.Codebook.ToArray();
            var rows = first.Normalized.ToArray();
            for (int c = 0; c < k; c++)
            {
                if (first.Counts[c] > 0) continue;
                var code = Row(book, c, l);
                Assert.Contains(Enumerable.Range(0, 10), r => Row(rows, r, l).SequenceEqual(code));
            }
        }
        // Steps 2..deadAfter: nothing is old enough to reseed. (The batch is one direction, so each step
        // picks one code; which one may change now that several codes sit near that direction.)
        int reseeded = 0;
        var usedSince2 = new HashSet<int>();
        long step = 2;
        for (; step <= deadAfter; step++)
            using (new TensorScope())
            {
                var b = Batch();
                for (int c = 0; c < k; c++) if (b.Counts[c] > 0) usedSince2.Add(c);
                reseeded += vq.Update(b, step, rng).Reseeded;
            }
        Assert.Equal(0, reseeded);
        // Step deadAfter + 1: every code unused since step 1 is dead and re-seeded; codes used since are kept.
        using (new TensorScope())
        {
            var vqOut = Batch();
            var usedNow = Enumerable.Range(0, k).Where(c => vqOut.Counts[c] > 0).ToHashSet();
            var alive = usedSince2.Union(usedNow).ToHashSet();
            var before = vq.Codebook.ToArray();
            var stats = vq.Update(vqOut, step, rng);
            Assert.Equal(k - alive.Count, stats.Reseeded);
            Assert.True(stats.Reseeded >= k - 3, $"only {stats.Reseeded} codes were re-seeded");
            Assert.Equal(1, stats.Used);
            Assert.Equal(1.0, stats.Perplexity, 6);
            foreach (var c in alive) Assert.Equal(Row(before, c, l), Row(vq.Codebook.ToArray(), c, l));
        }
    }

    [Fact]
    public void Perplexity_IsTheNumberOfEquallyUsedCodes()
    {
        var vq = new VectorQuantizer(4, 2, 0.25f, deadAfter: 0, new Rng(3));
        using var _ = new TensorScope();
        // Four rows along the four codes' own directions choose four different codes.
        var cn = Ops.L2Normalize(vq.Codebook.Detach()).ToArray();
        var e = Tensor.From(cn, 4, 2);
        VqResult r;
        using (Tape.NoGrad()) r = vq.Forward(e);
        var stats = vq.Update(r, 1, new Rng(4));
        Assert.Equal(4, stats.Used);
        Assert.Equal(4.0, stats.Perplexity, 4);
        Assert.Equal(0, stats.Reseeded);   // dead_after 0 disables reseeding
    }

    [Fact]
    public void MergeNearDuplicates_SendsSynonymsToTheMostUsedCode_WithoutChaining()
    {
        // Unit vectors at angles (degrees) 0, 5, 10 and 90, in 2-D: cos 5° = 0.9962, cos 10° = 0.9848.
        static float[] At(double deg) => [(float)Math.Cos(deg * Math.PI / 180), (float)Math.Sin(deg * Math.PI / 180)];
        var vq = new VectorQuantizer(4, 2, 0.25f, deadAfter: 0, new Rng(1));
        vq.Codebook.CopyFrom([.. At(0), .. At(5), .. At(10), .. At(90).Select(v => v * 3)]);
        // Code 1 (5°) is the most used: 0° and 10° are each within 5° of it and join it; 90° stays its own.
        var reps = vq.MergeNearDuplicates([10, 50, 5, 1], threshold: 0.99);
        Assert.Equal([1, 1, 1, 3], reps);
        var book = vq.Codebook.ToArray();
        Assert.Equal(Row(book, 1, 2), Row(book, 0, 2));
        Assert.Equal(Row(book, 1, 2), Row(book, 2, 2));
        // Encoding now gives the representative for any of the old synonyms' directions (the lowest id wins ties,
        // and the merged rows are the representative's own vector, so the id is 0: the first row holding it).
        using (new TensorScope())
        using (Tape.NoGrad())
        {
            var e = Tensor.From([.. At(0), .. At(9), .. At(88)], 3, 2);
            var ids = vq.Forward(e).Ids;
            Assert.Equal(ids[0], ids[1]);
            Assert.Equal(3, ids[2]);
        }

        // No chains: 0° most used, then 5°, then 10°: 10° is 5° from a code that merged into 0°, but 10° from 0°
        // itself, so it stays its own representative.
        var chain = new VectorQuantizer(3, 2, 0.25f, deadAfter: 0, new Rng(1));
        chain.Codebook.CopyFrom([.. At(0), .. At(5), .. At(10)]);
        Assert.Equal([0, 0, 2], chain.MergeNearDuplicates([50, 10, 5], threshold: 0.99));
        Assert.Throws<ArgumentOutOfRangeException>(() => chain.MergeNearDuplicates([1, 1, 1], threshold: 1.5));
    }
}
