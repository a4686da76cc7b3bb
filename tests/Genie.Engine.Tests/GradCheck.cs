using Genie.Core;
using Genie.Engine;

namespace Genie.Engine.Tests;

/// <summary>
/// Compares the tape's gradients with central finite differences. The checked function is reduced to a
/// scalar through a fixed random weighting (loss = Σ wᵢ·yᵢ), so every output element carries a distinct,
/// signed weight and a wrong sign or a missing term in any backward rule shows up.
/// </summary>
public static class GradCheck
{
    /// <summary>A tensor of N(0, scale²) values that requires a gradient (a parameter, so it survives scopes).</summary>
    public static Tensor Param(Rng rng, float scale, params int[] shape)
    {
        var p = Tensor.Parameter("p", shape, decay: false);
        Init.Normal(p, rng, scale);
        return p;
    }

    /// <summary>Checks d(Σ w·f(inputs))/d(input) for every input. Returns the worst relative error.</summary>
    /// <param name="f">The function under test; it reads the inputs.</param>
    /// <param name="inputs">Tensors to differentiate with respect to.</param>
    /// <param name="tolerance">Largest allowed |analytic − numeric| relative to the largest numeric entry.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="seed">Seed of the output weighting (kept apart from the seeds that make inputs).</param>
    /// <param name="expectedRatio">Per input, the expected ratio analytic / numeric (1 by default). Stop-gradients
    /// make it differ: numerically sg(x) is just x, so the tape sees only part of the full derivative.</param>
    public static double Check(Func<Tensor> f, Tensor[] inputs, double tolerance = 1e-2, float eps = 1e-2f, ulong seed = 0xC0FFEE,
        double[]? expectedRatio = null)
    {
        float[] weights;
        // Analytic gradients.
        foreach (var x in inputs) x.ZeroGrad();
        using (new TensorScope())
        {
            var y = f();
            var rng = new Rng(seed);
            weights = new float[y.Size];
            for (int i = 0; i < weights.Length; i++) weights[i] = rng.NextNormal();
            var loss = Reduce(y, weights);
            loss.Backward();
        }
        double worst = 0;
        for (int xi = 0; xi < inputs.Length; xi++)
        {
            var x = inputs[xi];
            var analytic = x.Grad!.ToArray();
            var values = x.ToArray();
            var numeric = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                float orig = values[i];
                values[i] = orig + eps; x.CopyFrom(values);
                double plus = Eval(f, weights);
                values[i] = orig - eps; x.CopyFrom(values);
                double minus = Eval(f, weights);
                values[i] = orig; x.CopyFrom(values);
                numeric[i] = (plus - minus) / (2 * eps) * (expectedRatio?[xi] ?? 1.0);
            }
            double scale = Math.Max(1e-3, numeric.Max(Math.Abs));
            double err = 0;
            int at = 0;
            for (int i = 0; i < values.Length; i++)
            {
                double e = Math.Abs(analytic[i] - numeric[i]) / scale;
                if (e > err) { err = e; at = i; }
            }
            Assert.True(err < tolerance,
                $"input {xi} {x.ShapeString}: gradient mismatch at {at}: analytic {analytic[at]:G6}, numeric {numeric[at]:G6} (relative error {err:G3}, scale {scale:G3})");
            Assert.True(numeric.Any(v => Math.Abs(v) > 1e-4), $"input {xi}: the numeric gradient is all zero, so the check proves nothing");
            worst = Math.Max(worst, err);
        }
        return worst;
    }

    private static double Eval(Func<Tensor> f, float[] weights)
    {
        using var scope = new TensorScope();
        using var _ = Autograd.Tape.NoGrad();
        var y = f().ToArray();
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)weights[i] * y[i];
        return s;
    }

    private static Tensor Reduce(Tensor y, float[] weights) => Ops.Sum(Ops.Mul(y, Tensor.From(weights, y.Shape)));
}
