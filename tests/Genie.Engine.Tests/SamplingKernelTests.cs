using Genie.Core;
using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>The categorical sampling kernel (MaskGIT's per-token draw) against its double-precision reference.</summary>
[Collection(KernelGlobalsCollection.Name)]
public unsafe class SamplingKernelTests
{
    [Theory]
    [InlineData(1)] [InlineData(5)] [InlineData(37)] [InlineData(1024)]
    public void SampleRow_PicksTheReferenceCode_OnEveryPath(int codes)
    {
        var rng = new Rng((ulong)codes);
        var logits = new float[codes];
        var scratch = new float[codes];
        foreach (int bits in new[] { 512, 256, 128, 0 })
        {
            using var _ = new KernelSettings(maxVectorBits: bits);
            int mismatches = 0;
            for (int trial = 0; trial < 300; trial++)
            {
                float tau = trial % 3 == 0 ? 0.5f : trial % 3 == 1 ? 1f : 2f;
                for (int i = 0; i < codes; i++) logits[i] = rng.NextNormal() * 4;
                double draw = rng.NextDouble();
                fixed (float* pl = logits, ps = scratch)
                {
                    var (code, prob) = Sampling.SampleRow(pl, codes, tau, draw, ps);
                    var (want, wantProb) = SamplingReference.SampleRow(pl, codes, tau, draw);
                    Assert.InRange(code, 0, codes - 1);
                    if (code != want)
                    {
                        // Only a draw within rounding of the boundary between neighbouring codes may land differently.
                        mismatches++;
                        Assert.True(Math.Abs(code - want) == 1, $"bits {bits}: picked {code}, reference {want} (draw {draw})");
                        continue;
                    }
                    Assert.True(Math.Abs(prob - wantProb) <= 1e-5 * Math.Max(wantProb, 1e-3), $"bits {bits}: probability {prob} vs {wantProb}");
                }
            }
            Assert.True(mismatches <= 1, $"bits {bits}: {mismatches} of 300 draws picked another code than the reference");
        }
    }

    [Fact]
    public void SampleRow_RejectsANonPositiveTemperature()
    {
        var logits = new float[4];
        fixed (float* pl = logits)
        {
            float* p = pl;
            Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.SampleRow(p, 4, 0f, 0.5, p));
        }
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(0f)]
    public void MaskedHead_SamplesTheRowsAsTheirFullLogitsWould(float temperature)
    {
        // The backend's head (packed weights, blocks of rows in parallel) against the plain way: every row's logits
        // by a matrix product, then each chosen row sampled alone.
        int rowsInHidden = 70, d = 40, k = 130;
        var rng = new Rng(5);
        using var scope = new TensorScope();
        var hidden = Tensor.From(Enumerable.Range(0, rowsInHidden * d).Select(_ => rng.NextFloat() - 0.5f).ToArray(), [rowsInHidden, d]);
        var weight = Tensor.From(Enumerable.Range(0, k * d).Select(_ => rng.NextFloat() - 0.5f).ToArray(), [k, d]);
        var bias = Tensor.From(Enumerable.Range(0, k).Select(_ => rng.NextFloat() - 0.5f).ToArray(), [k]);
        int firstRow = 3;
        int[] rows = Enumerable.Range(0, 60).Where(i => i % 3 != 1).ToArray();      // 40 rows, several blocks
        var draws = rows.Select(_ => rng.NextDouble()).ToArray();
        using var head = Backend.Backends.Default.CreateMaskedHead(weight, bias);
        var codes = new int[rows.Length];
        var confidence = new double[rows.Length];
        head.Sample(hidden, firstRow, rows, temperature, draws, codes, confidence);

        var h = hidden.ToArray(); var w = weight.ToArray(); var b = bias.ToArray();
        var logits = new float[rowsInHidden * k];
        for (int r = 0; r < rowsInHidden - firstRow; r++)
            for (int c = 0; c < k; c++)
            {
                double z = b[c];
                for (int j = 0; j < d; j++) z += h[(firstRow + r) * d + j] * w[c * d + j];
                logits[r * k + c] = (float)z;
            }
        var expectedCodes = new int[rows.Length];
        var expectedConfidence = new double[rows.Length];
        Sampling.SampleRows(logits, k, rows, temperature, draws, expectedCodes, expectedConfidence);
        Assert.Equal(expectedCodes, codes);
        for (int i = 0; i < rows.Length; i++) Assert.Equal(expectedConfidence[i], confidence[i], 1e-4);
        Assert.Throws<ArgumentOutOfRangeException>(() => head.Sample(hidden, firstRow, [rowsInHidden], temperature, [0.5], new int[1], new double[1]));
    }
}
