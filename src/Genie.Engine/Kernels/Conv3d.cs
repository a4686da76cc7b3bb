using Genie.Engine.Parallel;

namespace Genie.Engine.Kernels;

/// <summary>
/// The geometry of a 3-D sliding window (a convolution or a pooling) over one channels-first volume
/// <c>(Channels, T, H, W)</c>: kernel, stride, zero padding before and after on each axis, and the output size
/// <c>Out = (In + PadBefore + PadAfter − Kernel) / Stride + 1</c> (rounded down, as PyTorch's <c>ceil_mode=False</c>).
/// </summary>
public readonly record struct Window3d(
    int Channels, int T, int H, int W,
    int KT, int KH, int KW,
    int ST, int SH, int SW,
    int PadT, int PadH, int PadW,
    int PadTAfter, int PadHAfter, int PadWAfter)
{
    /// <summary>Output frames.</summary>
    public int OutT => (T + PadT + PadTAfter - KT) / ST + 1;
    /// <summary>Output rows.</summary>
    public int OutH => (H + PadH + PadHAfter - KH) / SH + 1;
    /// <summary>Output columns.</summary>
    public int OutW => (W + PadW + PadWAfter - KW) / SW + 1;
    /// <summary>Output positions per channel, OutT·OutH·OutW.</summary>
    public int OutSize => OutT * OutH * OutW;
    /// <summary>Input positions per channel, T·H·W.</summary>
    public int InSize => T * H * W;

    /// <summary>No padding (PyTorch's <c>padding=0</c>, TF's "VALID").</summary>
    public static Window3d Valid(int channels, int t, int h, int w, (int T, int H, int W) kernel, (int T, int H, int W) stride) =>
        Check(new(channels, t, h, w, kernel.T, kernel.H, kernel.W, stride.T, stride.H, stride.W, 0, 0, 0, 0, 0, 0));

    /// <summary>
    /// TF's "SAME" padding: the output has ⌈In / Stride⌉ positions, and the total padding
    /// <c>max(Kernel − Stride, 0)</c> when <c>In % Stride == 0</c>, else <c>max(Kernel − In % Stride, 0)</c>, is split
    /// with the smaller half before (<c>before = total / 2</c>, <c>after = total − before</c>), as the I3D port of
    /// piergiaj/pytorch-i3d computes it before every convolution and max pooling.
    /// </summary>
    public static Window3d Same(int channels, int t, int h, int w, (int T, int H, int W) kernel, (int T, int H, int W) stride)
    {
        static int Total(int size, int k, int s) => size % s == 0 ? Math.Max(k - s, 0) : Math.Max(k - size % s, 0);
        int pt = Total(t, kernel.T, stride.T), ph = Total(h, kernel.H, stride.H), pw = Total(w, kernel.W, stride.W);
        return Check(new(channels, t, h, w, kernel.T, kernel.H, kernel.W, stride.T, stride.H, stride.W,
            pt / 2, ph / 2, pw / 2, pt - pt / 2, ph - ph / 2, pw - pw / 2));
    }

    private static Window3d Check(Window3d s)
    {
        if (s.Channels < 1 || s.T < 1 || s.H < 1 || s.W < 1) throw new ArgumentException($"a 3-D window needs a non-empty input, got {s.Channels}x{s.T}x{s.H}x{s.W}");
        if (s.KT < 1 || s.KH < 1 || s.KW < 1 || s.ST < 1 || s.SH < 1 || s.SW < 1) throw new ArgumentException("kernel sizes and strides must be positive");
        if (s.T + s.PadT + s.PadTAfter < s.KT || s.H + s.PadH + s.PadHAfter < s.KH || s.W + s.PadW + s.PadWAfter < s.KW)
            throw new ArgumentException($"a {s.KT}x{s.KH}x{s.KW} kernel does not fit a padded {s.T}x{s.H}x{s.W} input");
        return s;
    }
}

/// <summary>
/// 3-D convolution and pooling over channels-first volumes, inference only (no backward). A volume is one clip
/// <c>(C, T, H, W)</c>, contiguous. Oracle: <see cref="Conv3dReference"/>.
/// </summary>
/// <remarks>
/// The convolution is im2col + <see cref="Gemm.Sgemm"/>: the output <c>(O, N)</c>, N = OutT·OutH·OutW, is
/// <c>W (O × K) · col (K × N)</c> with K = C·KT·KH·KW, col row <c>(c, dt, dh, dw)</c> holding the input value under that
/// kernel tap at each output position (zero in the padding). A pointwise convolution (1×1×1, stride 1, no padding)
/// multiplies the input itself. Larger ones build col for a block of output positions at a time (the block size
/// depends only on K and N), so the scratch stays near 16 MiB. Each output element is one GEMM dot product whose order
/// does not depend on the blocking or on the thread count: results are bit-identical for any <see cref="Workers.ThreadCount"/>.
/// </remarks>
public static unsafe class Conv3d
{
    /// <summary>Floats of im2col scratch a convolution aims to stay under (16 MiB). Tests lower it to split small
    /// problems into several blocks of output positions.</summary>
    internal static long ColumnBudget { get; set; } = 1 << 22;

    [ThreadStatic] private static AlignedBuffer? _columns;

    /// <summary>
    /// y = conv3d(x, w) + bias, then max(·, 0) when <paramref name="relu"/>. x is <c>(C, T, H, W)</c> as
    /// <paramref name="s"/> describes it, w is PyTorch's <c>(O, C, KT, KH, KW)</c>, bias is O floats or null, y is
    /// <c>(O, OutT, OutH, OutW)</c>; the padding is zeros.
    /// </summary>
    public static void Forward(float* y, float* x, float* w, float* bias, int outChannels, Window3d s, bool relu)
    {
        if (outChannels < 1) throw new ArgumentException("a convolution needs at least one output channel");
        int n = s.OutSize, k = s.Channels * s.KT * s.KH * s.KW;
        bool pointwise = s.KT == 1 && s.KH == 1 && s.KW == 1 && s.ST == 1 && s.SH == 1 && s.SW == 1
            && s.PadT == 0 && s.PadH == 0 && s.PadW == 0 && s.PadTAfter == 0 && s.PadHAfter == 0 && s.PadWAfter == 0;
        if (pointwise) Gemm.Sgemm(false, false, outChannels, n, k, 1f, w, k, x, n, 0f, y, n);
        else
        {
            int block = (int)Math.Clamp(ColumnBudget / k, 1, n);
            float* col = (_columns ??= new AlignedBuffer()).Get((long)k * block);
            for (int n0 = 0; n0 < n; n0 += block)
            {
                int nb = Math.Min(block, n - n0);
                Workers.ForRange(k, Math.Max(1, k / 64), (r0, r1) => { for (int r = r0; r < r1; r++) Im2ColRow(col + (long)r * nb, x, s, r, n0, nb); });
                Gemm.Sgemm(false, false, outChannels, nb, k, 1f, w, k, col, nb, 0f, y + n0, n);
            }
        }
        if (bias == null && !relu) return;
        Workers.For(outChannels, o =>
        {
            float* row = y + (long)o * n;
            float b = bias == null ? 0f : bias[o];
            if (relu) for (int i = 0; i < n; i++) row[i] = Math.Max(row[i] + b, 0f);
            else for (int i = 0; i < n; i++) row[i] += b;
        });
    }

    // Row r = (c, dt, dh, dw) of col for output positions [n0, n0 + count): the input under that tap, 0 in the padding.
    private static void Im2ColRow(float* dst, float* x, Window3d s, int r, int n0, int count)
    {
        int dw = r % s.KW, dh = r / s.KW % s.KH, dt = r / (s.KW * s.KH) % s.KT, c = r / (s.KW * s.KH * s.KT);
        int ow = s.OutW, plane = s.OutH * ow;
        int to = n0 / plane, ho = n0 % plane / ow, wo = n0 % ow;
        for (int done = 0; done < count;)
        {
            int seg = Math.Min(ow - wo, count - done);
            int ti = to * s.ST - s.PadT + dt, hi = ho * s.SH - s.PadH + dh;
            float* d = dst + done;
            if ((uint)ti >= (uint)s.T || (uint)hi >= (uint)s.H) new Span<float>(d, seg).Clear();
            else
            {
                float* src = x + (((long)c * s.T + ti) * s.H + hi) * s.W;
                int wi = wo * s.SW - s.PadW + dw;
                for (int j = 0; j < seg; j++, wi += s.SW) d[j] = (uint)wi < (uint)s.W ? src[wi] : 0f;
            }
            done += seg;
            wo = 0;
            if (++ho == s.OutH) { ho = 0; to++; }
        }
    }

    /// <summary>
    /// Max pooling, y (C, OutT, OutH, OutW) from x (C, T, H, W). The padding counts as zeros, as in piergiaj's
    /// <c>MaxPool3dSamePadding</c>, which zero-pads with <c>F.pad</c> before PyTorch's max pooling (the same as
    /// −∞ padding on the non-negative inputs that follow a ReLU, not otherwise).
    /// </summary>
    public static void MaxPoolForward(float* y, float* x, Window3d s) =>
        Workers.For(s.Channels * s.OutT, item =>
        {
            int c = item / s.OutT, to = item % s.OutT;
            float* yr = y + ((long)c * s.OutT + to) * s.OutH * s.OutW;
            for (int ho = 0; ho < s.OutH; ho++)
                for (int wo = 0; wo < s.OutW; wo++)
                {
                    float m = float.NegativeInfinity;
                    for (int dt = 0; dt < s.KT; dt++)
                    {
                        int ti = to * s.ST - s.PadT + dt;
                        for (int dh = 0; dh < s.KH; dh++)
                        {
                            int hi = ho * s.SH - s.PadH + dh;
                            bool rowInside = (uint)ti < (uint)s.T && (uint)hi < (uint)s.H;
                            float* xr = x + (((long)c * s.T + ti) * s.H + hi) * s.W;
                            for (int dw = 0; dw < s.KW; dw++)
                            {
                                int wi = wo * s.SW - s.PadW + dw;
                                float v = rowInside && (uint)wi < (uint)s.W ? xr[wi] : 0f;
                                if (v > m || float.IsNaN(v)) m = v;
                            }
                        }
                    }
                    yr[ho * s.OutW + wo] = m;
                }
        });

    /// <summary>
    /// Average pooling without padding (<paramref name="s"/> must have none), y (C, OutT, OutH, OutW) from
    /// x (C, T, H, W): each output is the mean of its KT·KH·KW inputs, summed in window order.
    /// </summary>
    public static void AvgPoolForward(float* y, float* x, Window3d s)
    {
        if (s.PadT + s.PadH + s.PadW + s.PadTAfter + s.PadHAfter + s.PadWAfter != 0) throw new ArgumentException("average pooling here takes no padding");
        float inv = 1f / (s.KT * s.KH * s.KW);
        Workers.For(s.Channels * s.OutT, item =>
        {
            int c = item / s.OutT, to = item % s.OutT;
            float* yr = y + ((long)c * s.OutT + to) * s.OutH * s.OutW;
            for (int ho = 0; ho < s.OutH; ho++)
                for (int wo = 0; wo < s.OutW; wo++)
                {
                    float sum = 0f;
                    for (int dt = 0; dt < s.KT; dt++)
                        for (int dh = 0; dh < s.KH; dh++)
                        {
                            float* xr = x + (((long)c * s.T + to * s.ST + dt) * s.H + ho * s.SH + dh) * s.W + wo * s.SW;
                            for (int dw = 0; dw < s.KW; dw++) sum += xr[dw];
                        }
                    yr[ho * s.OutW + wo] = sum * inv;
                }
        });
    }
}

/// <summary>Scalar double-precision oracles for <see cref="Conv3d"/>: the definitions, one output at a time.</summary>
internal static unsafe class Conv3dReference
{
    // x at (c, t, h, w) of the padded input: zero outside.
    private static double At(float* x, Window3d s, int c, int t, int h, int w) =>
        (uint)t < (uint)s.T && (uint)h < (uint)s.H && (uint)w < (uint)s.W ? x[(((long)c * s.T + t) * s.H + h) * s.W + w] : 0.0;

    /// <summary>Convolution with bias and optional ReLU, plain loops.</summary>
    public static void Forward(float* y, float* x, float* w, float* bias, int outChannels, Window3d s, bool relu)
    {
        for (int o = 0; o < outChannels; o++)
            for (int to = 0; to < s.OutT; to++)
                for (int ho = 0; ho < s.OutH; ho++)
                    for (int wo = 0; wo < s.OutW; wo++)
                    {
                        double sum = bias == null ? 0 : bias[o];
                        for (int c = 0; c < s.Channels; c++)
                            for (int dt = 0; dt < s.KT; dt++)
                                for (int dh = 0; dh < s.KH; dh++)
                                    for (int dw = 0; dw < s.KW; dw++)
                                        sum += w[(((long)(o * s.Channels + c) * s.KT + dt) * s.KH + dh) * s.KW + dw]
                                            * At(x, s, c, to * s.ST - s.PadT + dt, ho * s.SH - s.PadH + dh, wo * s.SW - s.PadW + dw);
                        if (relu) sum = Math.Max(sum, 0);
                        y[(((long)o * s.OutT + to) * s.OutH + ho) * s.OutW + wo] = (float)sum;
                    }
    }

    /// <summary>Max pooling over the zero-padded input, plain loops.</summary>
    public static void MaxPoolForward(float* y, float* x, Window3d s) => Pool(y, x, s, max: true);

    /// <summary>Average pooling (no padding), plain loops.</summary>
    public static void AvgPoolForward(float* y, float* x, Window3d s) => Pool(y, x, s, max: false);

    private static void Pool(float* y, float* x, Window3d s, bool max)
    {
        for (int c = 0; c < s.Channels; c++)
            for (int to = 0; to < s.OutT; to++)
                for (int ho = 0; ho < s.OutH; ho++)
                    for (int wo = 0; wo < s.OutW; wo++)
                    {
                        double acc = max ? double.NegativeInfinity : 0;
                        for (int dt = 0; dt < s.KT; dt++)
                            for (int dh = 0; dh < s.KH; dh++)
                                for (int dw = 0; dw < s.KW; dw++)
                                {
                                    double v = At(x, s, c, to * s.ST - s.PadT + dt, ho * s.SH - s.PadH + dh, wo * s.SW - s.PadW + dw);
                                    acc = max ? Math.Max(acc, v) : acc + v;
                                }
                        y[(((long)c * s.OutT + to) * s.OutH + ho) * s.OutW + wo] = (float)(max ? acc : acc / (s.KT * s.KH * s.KW));
                    }
    }
}
