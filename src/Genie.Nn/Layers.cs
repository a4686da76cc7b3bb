using Genie.Core;
using Genie.Engine;

namespace Genie.Nn;

/// <summary>y = x·Wᵀ + b with W stored (out, in) as in PyTorch; W decays, b does not.</summary>
public sealed class Linear : Module
{
    /// <summary>(out, in)</summary>
    public Tensor Weight { get; }
    /// <summary>(out), or null without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>A linear layer with N(0, std²) weights and zero bias.</summary>
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true, float std = Initializers.Std)
    {
        Weight = Param("weight", [outFeatures, inFeatures], decay: true, t => Init.Normal(t, rng, std));
        if (bias) Bias = Param("bias", [outFeatures], decay: false, t => Init.Constant(t, 0f));
    }

    /// <summary>x (..., in) → (..., out).</summary>
    public Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);

    /// <summary>act(x·Wᵀ + b) + residual, GELU when <paramref name="gelu"/>; fused into the GEMM at inference.</summary>
    public Tensor Forward(Tensor x, bool gelu, Tensor? residual) => Ops.Linear(x, Weight, Bias, gelu, residual);
}

/// <summary>Layer norm over the last dimension, learned weight (ones) and bias (zeros), eps 1e-5; no decay.</summary>
public sealed class LayerNorm : Module
{
    /// <summary>(dim)</summary>
    public Tensor Weight { get; }
    /// <summary>(dim)</summary>
    public Tensor Bias { get; }
    private readonly float _eps;
    /// <summary>The ε added to the variance.</summary>
    public float Eps => _eps;

    /// <summary>A layer norm over <paramref name="dim"/> features.</summary>
    public LayerNorm(int dim, float eps = 1e-5f)
    {
        _eps = eps;
        Weight = Param("weight", [dim], decay: false, t => Init.Constant(t, 1f));
        Bias = Param("bias", [dim], decay: false, t => Init.Constant(t, 0f));
    }

    /// <summary>x (..., dim) → (..., dim).</summary>
    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, _eps);
}

/// <summary>Position-wise feed-forward network: Linear(D, 4D) → GELU (tanh) → Linear(4D, D).</summary>
public sealed class FeedForward : Module
{
    private readonly Linear _fc1, _fc2;

    /// <summary>A feed-forward block of width <paramref name="dim"/> with a hidden layer of <paramref name="hidden"/>.</summary>
    public FeedForward(int dim, int hidden, Rng rng, float outStd = Initializers.Std)
    {
        _fc1 = Child("fc1", new Linear(dim, hidden, rng));
        _fc2 = Child("fc2", new Linear(hidden, dim, rng, std: outStd));
    }

    /// <summary>x (..., D) → (..., D), plus <paramref name="residual"/> when given (added in the last GEMM's epilogue).</summary>
    public Tensor Forward(Tensor x, Tensor? residual = null) =>
        _fc2.Forward(_fc1.Forward(x, gelu: true, residual: null), gelu: false, residual);
}
