using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Genie.Engine.Kernels;

/// <summary>
/// What a GEMM does to each finished tile of C while the tile is still in L1, instead of separate passes over
/// the whole output: <c>C = act(C + bias) + residual</c>, where bias is one value per column, act is GELU
/// (tanh form) or nothing, and residual is a matrix of C's shape. This is a linear layer's bias, the
/// feed-forward network's activation and a transformer's residual add in one pass. Each step is optional.
/// The arithmetic per element is exactly that of the separate kernels in that order
/// (<see cref="Elementwise.AddRowVector"/>, <see cref="Elementwise.GeluForward"/>, an element-wise add), so
/// fused and unfused results agree bit for bit wherever the GELU of both runs on whole vectors.
/// </summary>
public readonly unsafe struct GemmEpilogue
{
    /// <summary>n floats added to every row of C, or null.</summary>
    public readonly float* Bias;
    /// <summary>An m × n matrix added last, rows <see cref="Ldr"/> floats apart, or null. Must not overlap C.</summary>
    public readonly float* Residual;
    /// <summary>Leading dimension of <see cref="Residual"/>.</summary>
    public readonly long Ldr;
    /// <summary>Whether GELU is applied after the bias.</summary>
    public readonly bool Gelu;

    /// <summary>An epilogue; any part may be left out (null pointers, false).</summary>
    public GemmEpilogue(float* bias, bool gelu, float* residual, long ldr)
    {
        Bias = bias; Gelu = gelu; Residual = residual; Ldr = ldr;
    }

    /// <summary>Whether there is nothing to do.</summary>
    public bool IsNone => Bias == null && Residual == null && !Gelu;

    /// <summary>The same epilogue for the sub-matrix of C that starts at row <paramref name="i"/>, column <paramref name="j"/>.</summary>
    internal GemmEpilogue At(long i, long j) =>
        new(Bias == null ? null : Bias + j, Gelu, Residual == null ? null : Residual + i * Ldr + j, Ldr);

    /// <summary>Applies the epilogue to the <paramref name="rows"/> × <paramref name="cols"/> block of C at <paramref name="c"/>
    /// (this epilogue already offset to that block).</summary>
    internal void Apply(float* c, long ldc, int rows, int cols)
    {
        switch (SimdPath.Bits)
        {
            case >= 512: Apply<Vector512<float>, V512>(c, ldc, rows, cols); break;
            case >= 256: Apply<Vector256<float>, V256>(c, ldc, rows, cols); break;
            case >= 128: Apply<Vector128<float>, V128>(c, ldc, rows, cols); break;
            default: Apply<float, V1>(c, ldc, rows, cols); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Apply<TV, O>(float* c, long ldc, int rows, int cols) where TV : unmanaged where O : struct, IVec<TV>
    {
        int W = O.Width;
        float* bias = Bias, res = Residual;
        bool gelu = Gelu;
        for (int i = 0; i < rows; i++)
        {
            float* cr = c + i * ldc;
            float* rr = res == null ? null : res + i * Ldr;
            int j = 0;
            for (; j + W <= cols; j += W)
            {
                var v = O.Load(cr + j);
                if (bias != null) v = O.Add(v, O.Load(bias + j));
                if (gelu) v = Elementwise.Gelu<TV, O>(v);
                if (rr != null) v = O.Add(O.Load(rr + j), v);
                O.Store(v, cr + j);
            }
            for (; j < cols; j++)
            {
                float v = cr[j];
                if (bias != null) v += bias[j];
                if (gelu) v = Elementwise.Gelu(v);
                if (rr != null) v = rr[j] + v;
                cr[j] = v;
            }
        }
    }
}

/// <summary>The oracle for <see cref="GemmEpilogue"/>: the three steps as separate plain loops over a finished C.</summary>
internal static unsafe class GemmEpilogueReference
{
    /// <summary>C = act(C + bias) + residual over an m × n row-major C (ldc = n), GELU in double precision.</summary>
    public static void Apply(float* c, int m, int n, float* bias, bool gelu, float* residual, long ldr)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double v = c[(long)i * n + j];
                if (bias != null) v += bias[j];
                if (gelu) v = 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                if (residual != null) v += residual[i * ldr + j];
                c[(long)i * n + j] = (float)v;
            }
    }
}
