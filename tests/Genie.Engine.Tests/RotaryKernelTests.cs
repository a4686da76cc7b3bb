using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>
/// Rotary positions (<see cref="Rotary"/>) against the double-precision <see cref="RotaryReference"/>, which builds each
/// pair's 2×2 rotation from the angle itself: forward out of place and in place, the backward as the transposed
/// rotation accumulated into dx, on sizes with one and with many work items, some heads left unrotated.
/// </summary>
[Collection(KernelGlobalsCollection.Name)]
public unsafe class RotaryKernelTests
{
    private static double[] Angles(int seed, int period, int pairs)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, period * pairs).Select(_ => (r.NextDouble() - 0.5) * 8).ToArray();
    }

    private static (float[] Cos, float[] Sin) Tables(double[] angles) =>
        (angles.Select(a => (float)Math.Cos(a)).ToArray(), angles.Select(a => (float)Math.Sin(a)).ToArray());

    private static void Close(float[] got, float[] want, string what)
    {
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] - want[i]) <= 1e-5 * Math.Max(1, Math.Abs(want[i])), $"{what}[{i}] = {got[i]}, reference {want[i]}");
    }

    [Theory]
    [InlineData(3, 13, 3, 8, 2)]      // one work item, the third head of q and k left alone
    [InlineData(8, 257, 4, 32, 4)]    // the dynamics model's frame (action token + 16×16), every head, many items
    [InlineData(2, 5, 2, 4, 1)]
    [InlineData(4, 7, 2, 12, 0)]      // nothing rotated: a copy
    public void Forward_AndBackward_MatchTheReference(int frames, int period, int heads, int headDim, int ropeHeads)
    {
        int dim = heads * headDim, rows = frames * period, cols = 3 * dim;
        var angles = Angles(1, period, headDim / 2);
        var (cos, sin) = Tables(angles);
        var x = TestData.Uniform(2, (long)rows * cols);
        var dy = TestData.Uniform(3, (long)rows * cols);
        var dx0 = TestData.Uniform(4, (long)rows * cols);
        var y = new float[x.Length];
        var want = new float[x.Length];
        var inPlace = (float[])x.Clone();
        var dx = (float[])dx0.Clone();
        var wantDx = new float[x.Length];
        fixed (float* px = x, py = y, pw = want, pi = inPlace, pc = cos, ps = sin, pdy = dy, pdx = dx, pwd = wantDx)
        {
            Rotary.Forward(py, px, pc, ps, rows, dim, headDim, ropeHeads, period);
            Rotary.Forward(pi, pi, pc, ps, rows, dim, headDim, ropeHeads, period);
            RotaryReference.Forward(pw, px, angles, rows, dim, headDim, ropeHeads, period);
            Rotary.Backward(pdx, pdy, pc, ps, rows, dim, headDim, ropeHeads, period);
            RotaryReference.Forward(pwd, pdy, angles, rows, dim, headDim, ropeHeads, period, transpose: true);
        }
        Close(y, want, "y");
        Assert.Equal(y, inPlace);
        for (int i = 0; i < wantDx.Length; i++) wantDx[i] += dx0[i];     // the backward accumulates
        Close(dx, wantDx, "dx");
        // v and the heads past ropeHeads are copied bit for bit.
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            if (j >= 2 * dim || j % dim >= ropeHeads * headDim) Assert.Equal(x[r * cols + j], y[r * cols + j]);
        if (ropeHeads > 0) Assert.NotEqual(x, y);
        // Bit-identical whatever the thread count.
        foreach (int threads in new[] { 1, 3 })
        {
            var again = new float[x.Length];
            var dxAgain = (float[])dx0.Clone();
            using (new KernelSettings(threads: threads))
            fixed (float* px = x, pa = again, pc = cos, ps = sin, pdy = dy, pdx = dxAgain)
            {
                Rotary.Forward(pa, px, pc, ps, rows, dim, headDim, ropeHeads, period);
                Rotary.Backward(pdx, pdy, pc, ps, rows, dim, headDim, ropeHeads, period);
            }
            Assert.Equal(y, again);
            Assert.Equal(dx, dxAgain);
        }
    }

    [Fact]
    public void Backend_RefusesTablesThatDoNotFitTheRows()
    {
        var qkv = Tensor.Zeros(10, 3 * 8);
        var cos = Tensor.Zeros(5, 2);
        var sin = Tensor.Zeros(5, 2);
        Assert.Throws<ArgumentException>(() => Ops.Rotary(qkv, cos, sin, heads: 2, ropeHeads: 3));        // more rotated heads than heads
        Assert.Throws<ArgumentException>(() => Ops.Rotary(qkv, cos, sin, heads: 1, ropeHeads: 1));        // hd 8 needs 4 columns of angles
        Assert.Throws<ArgumentException>(() => Ops.Rotary(qkv, Tensor.Zeros(3, 2), Tensor.Zeros(3, 2), heads: 2, ropeHeads: 1)); // 10 rows, period 3
        Assert.Throws<ArgumentException>(() => Ops.Rotary(qkv, Tensor.Zeros(0, 2), Tensor.Zeros(0, 2), heads: 2, ropeHeads: 1));   // no positions
        Assert.Equal(10 * 24, Ops.Rotary(qkv, cos, sin, heads: 2, ropeHeads: 2).Size);
    }
}
