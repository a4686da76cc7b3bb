using System.Text;
using Genie.Engine;
using Genie.Engine.IO;
using Xunit.Abstractions;
using Genie.Core;

namespace Genie.Nn.Tests;

/// <summary>
/// Golden tests: one <see cref="STBlock"/> against an independent PyTorch implementation of ARCHITECTURE.md §2
/// (tools/golden/st_block.py, float64, stored as float32). Each fixture holds random non-trivial weights under
/// the C# parameter names, an input, the expected output, a fixed output weighting w and the gradients of
/// Σ w ⊙ y with respect to the input and every parameter.
/// <para>Tolerance: every element must satisfy |actual − expected| ≤ 1e-4 · max(1, |expected|), i.e. absolute
/// 1e-4 for values up to 1 and relative 1e-4 above (outputs reach ~6 and gradients ~56 in magnitude,
/// where float32 rounding alone gives up to ~1e-5: PyTorch's own float32 run of these cases is off by ≤ 9e-6).</para>
/// </summary>
public class GoldenSTBlockTests(ITestOutputHelper log)
{
    private const double Tolerance = 1e-4;

    [Fact] public void STBlock_QkNormOff_MatchesPyTorch() => Check("st_block_qknorm_off");
    [Fact] public void STBlock_QkNormOn_MatchesPyTorch() => Check("st_block_qknorm_on");
    [Fact] public void STBlock_Wide3Heads_QkNormOff_MatchesPyTorch() => Check("st_block_wide_qknorm_off");
    [Fact] public void STBlock_Wide3Heads_QkNormOn_MatchesPyTorch() => Check("st_block_wide_qknorm_on");

    private static readonly string[] DataKeys = ["input", "output", "loss_weights"];

    private void Check(string fixture)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture + ".safetensors");
        var (tensors, meta) = SafeTensors.Load(path);
        int b = int.Parse(meta["B"]), t = int.Parse(meta["T"]), n = int.Parse(meta["N"]), d = int.Parse(meta["D"]);
        int heads = int.Parse(meta["heads"]);
        bool qkNorm = bool.Parse(meta["qk_norm"]);
        int[] shape = [b, t, n, d];

        var block = new STBlock(d, heads, qkNorm, new Rng(7));
        var parameters = block.NamedParameters().ToList();

        // The fixture's weights are exactly the block's parameters: no missing and no unused ones.
        var weights = tensors.Where(kv => !DataKeys.Contains(kv.Key) && !kv.Key.StartsWith("grad."))
            .ToDictionary(kv => kv.Key, kv => (kv.Value.Shape, kv.Value.Data));
        Assert.Equal(parameters.Select(p => p.Name).Order(), weights.Keys.Order());
        Assert.Equal(parameters.Select(p => "grad." + p.Name).Append("grad.input").Order(),
            tensors.Keys.Where(k => k.StartsWith("grad.")).Order());
        block.LoadWeights(weights);

        foreach (var key in DataKeys) Assert.Equal(shape, tensors[key].Shape);
        var x = Tensor.Parameter("input", shape, decay: false);   // a parameter, so it gets a gradient
        x.CopyFrom(tensors["input"].Data);

        float[] y;
        using (new TensorScope())
        {
            var y_BTND = block.Forward(x);
            Assert.Equal(shape, y_BTND.Shape);
            y = y_BTND.ToArray();
            var w = Tensor.From(tensors["loss_weights"].Data, shape);
            var loss = Ops.Sum(Ops.Mul(y_BTND, w));
            loss.Backward();
        }

        var failures = new StringBuilder();
        void Compare(string name, float[] actual, SafeTensor expected)
        {
            Assert.Equal(expected.Data.Length, actual.Length);
            double maxAbs = 0, maxScaled = 0, maxExpected = 0;
            int at = 0;
            for (int i = 0; i < actual.Length; i++)
            {
                double e = expected.Data[i], diff = Math.Abs(actual[i] - e), scaled = diff / Math.Max(1.0, Math.Abs(e));
                Assert.False(double.IsNaN(actual[i]), $"{name}[{i}] is NaN");
                maxAbs = Math.Max(maxAbs, diff);
                maxExpected = Math.Max(maxExpected, Math.Abs(e));
                if (scaled > maxScaled) { maxScaled = scaled; at = i; }
            }
            log.WriteLine($"{fixture} {name,-24} max|Δ| {maxAbs:E2}  max scaled {maxScaled:E2}  (max|expected| {maxExpected:G3})");
            if (maxScaled > Tolerance)
                failures.AppendLine($"{name}: element {at} is {actual[at]:G8}, PyTorch says {expected.Data[at]:G8} " +
                    $"(scaled error {maxScaled:E2} > {Tolerance:E0}; max |Δ| {maxAbs:E2})");
        }

        Compare("output", y, tensors["output"]);
        // Inference (nothing records gradients) takes other kernels: the in-place qk-norm and linear layers
        // whose bias, GELU and residual add run in the GEMM's epilogue. Same output.
        using (new TensorScope())
        using (Engine.Autograd.Tape.NoGrad())
            Compare("output (inference)", block.Forward(Tensor.From(tensors["input"].Data, shape)).ToArray(), tensors["output"]);
        Compare("grad.input", x.Grad!.ToArray(), tensors["grad.input"]);
        foreach (var (name, p) in parameters) Compare("grad." + name, p.Grad!.ToArray(), tensors["grad." + name]);
        Assert.True(failures.Length == 0, $"{fixture} differs from PyTorch:\n{failures}");
    }
}
