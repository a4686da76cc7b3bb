namespace Genie.Engine.Kernels;

/// <summary>
/// Plain rotary positions in double precision, the oracle for <see cref="Rotary"/>: every rotated pair is multiplied by
/// the 2×2 rotation matrix [[cos θ, −sin θ], [sin θ, cos θ]] of its angle θ = angles[p, i], computed here.
/// </summary>
internal static unsafe class RotaryReference
{
    /// <summary>y (rows × 3D) = x with the pairs of the first <paramref name="ropeHeads"/> q and k heads rotated by
    /// <paramref name="angles"/> (period × hd/2) at position row mod period; <paramref name="transpose"/> rotates by −θ.</summary>
    public static void Forward(float* y, float* x, double[] angles, int rows, int dim, int headDim, int ropeHeads, int period, bool transpose = false)
    {
        int cols = 3 * dim, pairs = headDim / 2;
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
        {
            int seg = j / dim, h = (j % dim) / headDim, within = j % headDim, i = within / 2;
            if (seg == 2 || h >= ropeHeads) { y[(long)r * cols + j] = x[(long)r * cols + j]; continue; }
            double theta = angles[(r % period) * pairs + i] * (transpose ? -1 : 1);
            double[,] m = { { Math.Cos(theta), -Math.Sin(theta) }, { Math.Sin(theta), Math.Cos(theta) } };
            long first = (long)r * cols + j - within % 2;
            y[(long)r * cols + j] = (float)(m[within % 2, 0] * x[first] + m[within % 2, 1] * x[first + 1]);
        }
    }
}
