using Genie.Core;
using Genie.Models.Evaluation;

namespace Genie.Models.Tests;

/// <summary>The report metrics (issue 13) on cases whose answers are known in closed form.</summary>
public class StatisticsTests
{
    private static byte[] Texture(int h, int w, int seed)
    {
        var rng = new Rng((ulong)seed);
        var img = new byte[h * w * 3];
        for (int i = 0; i < img.Length; i++) img[i] = (byte)rng.NextInt(256);
        return img;
    }

    [Fact]
    public void Ssim_IsOneForIdenticalImages_AndFallsWithNoise()
    {
        var a = Texture(32, 32, 1);
        Assert.Equal(1.0, Statistics.Ssim(a, a, 32, 32), 12);
        var noisy = (byte[])a.Clone();
        var rng = new Rng(2);
        for (int i = 0; i < noisy.Length; i++) noisy[i] = (byte)Math.Clamp(noisy[i] + rng.NextInt(41) - 20, 0, 255);
        double slightly = Statistics.Ssim(a, noisy, 32, 32);
        double unrelated = Statistics.Ssim(a, Texture(32, 32, 3), 32, 32);
        Assert.InRange(slightly, 0.5, 0.999);
        Assert.InRange(unrelated, -0.2, 0.2);
        Assert.True(slightly > unrelated);
        // A constant shift of brightness lowers only the luminance term: (2·μx·μy + C1)/(μx² + μy² + C1).
        var flat = Enumerable.Repeat((byte)100, 16 * 16 * 3).ToArray();
        var brighter = Enumerable.Repeat((byte)150, 16 * 16 * 3).ToArray();
        double mx = 100 / 255.0, my = 150 / 255.0, c1 = 1e-4;
        Assert.Equal((2 * mx * my + c1) / (mx * mx + my * my + c1), Statistics.Ssim(flat, brighter, 16, 16), 6);
    }

    [Fact]
    public void Perplexity_CountsEquallyUsedCodes()
    {
        Assert.Equal(4, Statistics.Perplexity([0, 1, 2, 3, 0, 1, 2, 3]), 10);
        Assert.Equal(1, Statistics.Perplexity([5, 5, 5]), 10);
        Assert.InRange(Statistics.Perplexity([0, 0, 0, 1]), 1.0, 2.0);
    }

    [Fact]
    public void SymmetricEigen_ReconstructsTheMatrix_WithOrthonormalVectors()
    {
        const int d = 7;
        var rng = new Rng(4);
        var m = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) m[i * d + j] = m[j * d + i] = rng.NextFloat() * 2 - 1;
        var (values, v) = Statistics.SymmetricEigen(m, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double a = 0, id = 0;
                for (int k = 0; k < d; k++) { a += v[i * d + k] * values[k] * v[j * d + k]; id += v[k * d + i] * v[k * d + j]; }
                Assert.Equal(m[i * d + j], a, 10);
                Assert.Equal(i == j ? 1 : 0, id, 10);
            }
    }

    [Fact]
    public void FrechetDistance_MatchesClosedForms()
    {
        // One dimension: (μ1 − μ2)² + (σ1 − σ2)².
        Assert.Equal(9 + 1, Statistics.FrechetDistance([0], [4], [3], [1]), 10);
        // Identical Gaussians: 0.
        double[] cov = [2, 0.5, 0.5, 1];
        Assert.Equal(0, Statistics.FrechetDistance([1, 2], cov, [1, 2], cov), 9);
        // Covariances with the same eigenvectors (a rotation R): Σ (√λ1 − √λ2)² over the eigenvalues, plus ‖Δμ‖².
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        double[] Rot(double l1, double l2) =>
            [c * c * l1 + s * s * l2, c * s * (l1 - l2), c * s * (l1 - l2), s * s * l1 + c * c * l2];
        double expected = 1 * 1 + 2 * 2 + Math.Pow(Math.Sqrt(9) - Math.Sqrt(1), 2) + Math.Pow(Math.Sqrt(4) - Math.Sqrt(16), 2);
        Assert.Equal(expected, Statistics.FrechetDistance([0, 0], Rot(9, 4), [1, 2], Rot(1, 16)), 8);
        // A singular covariance (all mass on one line) stays finite and non-negative.
        double fd = Statistics.FrechetDistance([0, 0], [1, 1, 1, 1], [0, 0], [1, -1, -1, 1]);
        Assert.Equal(4, fd, 8);   // Σ1^½ Σ2 Σ1^½ = 0, so Tr(Σ1 + Σ2) = 4
    }

    [Fact]
    public void FitGaussian_GivesTheSampleMeanAndUnbiasedCovariance()
    {
        var rows = new List<float[]> { new float[] { 1, 2 }, new float[] { 3, 2 }, new float[] { 5, 8 } };
        var (mean, cov) = Statistics.FitGaussian(rows);
        Assert.Equal([3.0, 4.0], mean);
        Assert.Equal([4.0, 6.0, 6.0, 12.0], cov);
    }
    [Fact]
    public void Psnr_OfKnownImages()
    {
        // Every value off by 51 of 255 = 0.2: MSE 0.04, PSNR 10·log10(1 / 0.04) = 13.979 dB.
        var a = Enumerable.Repeat((byte)100, 8 * 8 * 3).ToArray();
        var b = Enumerable.Repeat((byte)151, 8 * 8 * 3).ToArray();
        Assert.Equal(10 * Math.Log10(25), Metrics.Psnr(a, b), 9);
        // Half the values off by 255 (black against white): MSE 0.5, 3.010 dB; identical images are capped at 100 dB.
        var c = new byte[8 * 8 * 3];
        for (int i = 0; i < c.Length; i += 2) c[i] = 255;
        Assert.Equal(10 * Math.Log10(2), Metrics.Psnr(new byte[c.Length], c), 9);
        Assert.Equal(100, Metrics.Psnr(a, a));
    }

    [Fact]
    public void CountMatrix_CountsLabelPairs_AndAPermutationHasNmiOne()
    {
        int[] latent = [0, 0, 1, 2, 2, 2];
        int[] truth = [1, 1, 0, 3, 3, 1];
        var counts = Metrics.CountMatrix(latent, truth, 3, 4);
        Assert.Equal([0, 2, 0, 0], counts[0]);
        Assert.Equal([1, 0, 0, 0], counts[1]);
        Assert.Equal([0, 1, 0, 2], counts[2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.CountMatrix(latent, truth, 2, 4));
        // Latents that are a permutation of the true actions: NMI 1, mapped accuracy 1, one count per row.
        int[] actions = [0, 1, 2, 3, 2, 1, 0, 3];
        int[] permuted = actions.Select(x => (x + 2) % 4).ToArray();
        Assert.Equal(1.0, Metrics.NormalizedMutualInformation(permuted, actions), 9);
        Assert.Equal(1.0, Metrics.MajorityMappingAccuracy(permuted, actions).Accuracy);
        Assert.All(Metrics.CountMatrix(permuted, actions, 4, 4), row => Assert.Single(row, n => n > 0));
    }

    private static byte[] StillClip(int frames, int h, int w, byte value) => Enumerable.Repeat(value, frames * h * w * 3).ToArray();

    [Fact]
    public void ClipFeatures_SeeColourChangeAndMotion()
    {
        int h = 16, w = 16, t = 4;
        // A still grey clip: appearance is the grey level in every cell and colour, no change, no motion.
        var f = ClipFeatures.Extract(StillClip(t, h, w, 51), t, h, w);
        Assert.Equal(ClipFeatures.Dimension, f.Length);
        Assert.All(f.Take(48), v => Assert.Equal(0.2, v, 6));
        Assert.All(f.Skip(48), v => Assert.Equal(0, v));
        // A texture sliding one pixel left per frame is a view moving one pixel right per frame, in every transition.
        var texture = Texture(h, w + t, 5);
        var clip = new byte[t * h * w * 3];
        for (int k = 0; k < t; k++)
            for (int y = 0; y < h; y++)
                Array.Copy(texture, (y * (w + t) + k) * 3, clip, ((k * h + y) * w) * 3, w * 3);
        var g = ClipFeatures.Extract(clip, t, h, w);
        Assert.Equal(1, g[64], 6);   // right
        Assert.Equal(0, g[65], 6);   // up
        Assert.Equal(1, g[66], 6);   // share moving
        Assert.All(g.Skip(48).Take(16), v => Assert.True(v > 0.05));
    }

    [Fact]
    public void ClipFeatureFrechetDistance_IsZeroForTheSameClips_AndTheMeanShiftForBrightenedOnes()
    {
        int h = 8, w = 8, t = 3;
        var levels = new byte[] { 40, 90, 130, 200 };
        var real = levels.Select(v => ClipFeatures.Extract(StillClip(t, h, w, v), t, h, w)).ToList();
        var brighter = levels.Select(v => ClipFeatures.Extract(StillClip(t, h, w, (byte)(v + 51)), t, h, w)).ToList();
        Assert.Equal(0, ClipFeatures.FrechetDistance(real, real), 6);
        // Same spread, every one of the 48 appearance features up by 0.2: ‖Δμ‖² = 48 · 0.04, the trace term 0.
        Assert.Equal(48 * 0.04, ClipFeatures.FrechetDistance(real, brighter), 4);
    }
}
