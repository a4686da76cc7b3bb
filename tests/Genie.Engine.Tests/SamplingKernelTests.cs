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
}
