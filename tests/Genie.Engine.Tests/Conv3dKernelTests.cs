using Genie.Engine.Kernels;

namespace Genie.Engine.Tests;

/// <summary>
/// The 3-D convolution and poolings against the scalar <see cref="Conv3dReference"/> on ragged sizes, strides and
/// (asymmetric, TF "SAME") paddings, im2col split into several blocks, and bit-identity across thread counts.
/// </summary>
[Collection(KernelGlobalsCollection.Name)]
public unsafe class Conv3dKernelTests
{
    // (C, T, H, W, kernel, stride): pointwise, odd kernels with stride 2 on even and odd sizes, kernels as large as the input.
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Shapes => new()
    {
        { 3, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
        { 5, 4, 6, 7, 1, 1, 1, 1, 1, 1 },
        { 3, 9, 11, 10, 7, 7, 7, 2, 2, 2 },
        { 4, 5, 7, 8, 3, 3, 3, 1, 1, 1 },
        { 2, 6, 9, 5, 1, 3, 3, 1, 2, 2 },
        { 3, 5, 5, 6, 3, 3, 3, 2, 2, 2 },
        { 2, 3, 4, 4, 2, 2, 2, 2, 2, 2 },
        { 1, 2, 3, 3, 2, 3, 3, 1, 1, 1 },
        { 6, 7, 3, 13, 3, 1, 5, 3, 1, 2 },
    };

    private static float[] Conv(Window3d s, int o, float[] x, float[] w, float[]? bias, bool relu, bool reference)
    {
        var y = new float[o * s.OutSize];
        fixed (float* py = y, px = x, pw = w, pb = bias)
        {
            if (reference) Conv3dReference.Forward(py, px, pw, pb, o, s, relu);
            else Conv3d.Forward(py, px, pw, pb, o, s, relu);
        }
        return y;
    }

    private static float[] Pool(Window3d s, float[] x, bool max, bool reference)
    {
        var y = new float[s.Channels * s.OutSize];
        fixed (float* py = y, px = x)
        {
            if (reference && max) Conv3dReference.MaxPoolForward(py, px, s);
            else if (reference) Conv3dReference.AvgPoolForward(py, px, s);
            else if (max) Conv3d.MaxPoolForward(py, px, s);
            else Conv3d.AvgPoolForward(py, px, s);
        }
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv_MatchesReference(int c, int t, int h, int w, int kt, int kh, int kw, int st, int sh, int sw)
    {
        foreach (bool same in new[] { true, false })
        {
            if (!same && (t < kt || h < kh || w < kw)) continue;
            var s = same ? Window3d.Same(c, t, h, w, (kt, kh, kw), (st, sh, sw)) : Window3d.Valid(c, t, h, w, (kt, kh, kw), (st, sh, sw));
            foreach (int o in new[] { 1, 7, 13 })
                foreach (bool relu in new[] { false, true })
                {
                    var x = TestData.Uniform(1, (long)c * s.InSize);
                    var wt = TestData.Uniform(2, (long)o * c * kt * kh * kw);
                    var bias = relu ? TestData.Uniform(3, o) : null;
                    var want = Conv(s, o, x, wt, bias, relu, reference: true);
                    var abs = Conv(s, o, TestData.Abs(x), TestData.Abs(wt), bias is null ? null : TestData.Abs(bias), false, reference: true);
                    foreach (long budget in new long[] { 1 << 22, 37 })
                    {
                        long saved = Conv3d.ColumnBudget;
                        Conv3d.ColumnBudget = budget;
                        try
                        {
                            var got = Conv(s, o, x, wt, bias, relu, reference: false);
                            for (int i = 0; i < want.Length; i++)
                                Assert.True(Math.Abs(got[i] - want[i]) <= 1e-6 * abs[i] * (c * kt * kh * kw + 2) + 1e-30,
                                    $"{s} o={o} relu={relu} budget={budget}: y[{i}] = {got[i]}, reference {want[i]}");
                        }
                        finally { Conv3d.ColumnBudget = saved; }
                    }
                }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Pools_MatchReference(int c, int t, int h, int w, int kt, int kh, int kw, int st, int sh, int sw)
    {
        // Inputs of both signs, so the zero padding of the max pool shows where it wins.
        var x = TestData.Uniform(4, (long)c * t * h * w);
        var same = Window3d.Same(c, t, h, w, (kt, kh, kw), (st, sh, sw));
        Assert.Equal(Pool(same, x, max: true, reference: true), Pool(same, x, max: true, reference: false));
        if (t < kt || h < kh || w < kw) return;
        var valid = Window3d.Valid(c, t, h, w, (kt, kh, kw), (st, sh, sw));
        var want = Pool(valid, x, max: false, reference: true);
        var got = Pool(valid, x, max: false, reference: false);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(got[i] - want[i]) <= 1e-6, $"{valid}: avg[{i}] = {got[i]}, reference {want[i]}");
    }

    [Fact]
    public void Same_PadsLikeTensorFlow()
    {
        // 224 with a 7-kernel, stride 2: total 5 = 2 before, 3 after; 5 with a 2-kernel, stride 2: 0 before, 1 after.
        var a = Window3d.Same(3, 16, 224, 224, (7, 7, 7), (2, 2, 2));
        Assert.Equal((2, 3, 2, 3, 8, 112), (a.PadH, a.PadHAfter, a.PadT, a.PadTAfter, a.OutT, a.OutH));
        var b = Window3d.Same(1, 5, 5, 5, (2, 2, 2), (2, 2, 2));
        Assert.Equal((0, 1, 3), (b.PadT, b.PadTAfter, b.OutT));
        var c = Window3d.Same(1, 5, 5, 5, (3, 3, 3), (1, 1, 1));
        Assert.Equal((1, 1, 5), (c.PadW, c.PadWAfter, c.OutW));
    }

    [Fact]
    public void Conv_ThreadCount_BitIdentical()
    {
        var s = Window3d.Same(5, 6, 17, 15, (3, 3, 3), (1, 2, 1));
        var x = TestData.Uniform(5, (long)5 * s.InSize);
        var w = TestData.Uniform(6, 19 * 5 * 27);
        var bias = TestData.Uniform(7, 19);
        float[] Run(int threads)
        {
            using var _ = new KernelSettings(threads: threads);
            return Conv(s, 19, x, w, bias, relu: true, reference: false);
        }
        var one = Run(1);
        Assert.True(TestData.BitEqual(one, Run(2)), "1 vs 2 threads differ");
        Assert.True(TestData.BitEqual(one, Run(3)), "1 vs 3 threads differ");
    }
}
