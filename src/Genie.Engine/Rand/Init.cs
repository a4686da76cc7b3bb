using Genie.Core;
namespace Genie.Engine;

/// <summary>Seeded parameter initialisers (values are drawn on the host, then copied in).</summary>
public static class Init
{
    /// <summary>Fills with N(0, std²).</summary>
    public static void Normal(Tensor t, Rng rng, float std)
    {
        var v = new float[t.Size];
        for (int i = 0; i < v.Length; i++) v[i] = rng.NextNormal() * std;
        t.CopyFrom(v);
    }

    /// <summary>Fills with N(0, std²) truncated to ±2·std (redrawn outside), as nanoGPT/jafar-style inits do.</summary>
    public static void TruncatedNormal(Tensor t, Rng rng, float std)
    {
        var v = new float[t.Size];
        for (int i = 0; i < v.Length; i++)
        {
            float x;
            do x = rng.NextNormal(); while (MathF.Abs(x) > 2f);
            v[i] = x * std;
        }
        t.CopyFrom(v);
    }

    /// <summary>Fills with U(lo, hi).</summary>
    public static void Uniform(Tensor t, Rng rng, float lo, float hi)
    {
        var v = new float[t.Size];
        for (int i = 0; i < v.Length; i++) v[i] = lo + (hi - lo) * rng.NextFloat();
        t.CopyFrom(v);
    }

    /// <summary>Fills with a constant.</summary>
    public static void Constant(Tensor t, float value) => t.Backend.Fill(t, value);
}
