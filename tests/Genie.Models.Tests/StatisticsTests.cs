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
}
