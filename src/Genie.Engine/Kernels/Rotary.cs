using Genie.Engine.Parallel;

namespace Genie.Engine.Kernels;

/// <summary>
/// Rotary positions (RoPE, Su et al. 2021) on packed <c>[q | k | v]</c> rows of width 3·D: in q and in k, the first
/// <c>ropeHeads</c> heads of width hd have each pair of columns (2i, 2i + 1) rotated by the angle of the row's position,
/// angle[p, i] given as tables cos, sin of shape (period, hd / 2), the row's position p = row mod period. So q·k of two
/// rotated heads depends on the two positions' difference only. Other columns (v, the remaining heads) are copied.
/// The backward applies the transposed rotation. <see cref="RotaryReference"/> is the oracle.
/// </summary>
public static unsafe class Rotary
{
    /// <summary>y = rotated x (rows × 3D); y may be x (in place).</summary>
    public static void Forward(float* y, float* x, float* cos, float* sin, int rows, int dim, int headDim, int ropeHeads, int period)
    {
        int cols = 3 * dim, pairs = headDim / 2;
        Workers.ForRange(rows, RowsPerItem(cols), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                float* xr = x + (long)r * cols, yr = y + (long)r * cols;
                if (yr != xr) new ReadOnlySpan<float>(xr, cols).CopyTo(new Span<float>(yr, cols));
                float* c = cos + (long)(r % period) * pairs, sn = sin + (long)(r % period) * pairs;
                for (int seg = 0; seg < 2; seg++)
                    for (int h = 0; h < ropeHeads; h++)
                    {
                        float* xs = xr + seg * dim + h * headDim, ys = yr + seg * dim + h * headDim;
                        for (int i = 0; i < pairs; i++)
                        {
                            float a = xs[2 * i], b = xs[2 * i + 1];
                            ys[2 * i] = a * c[i] - b * sn[i];
                            ys[2 * i + 1] = a * sn[i] + b * c[i];
                        }
                    }
            }
        });
    }

    /// <summary>dx += Rᵀ·dy on the rotated columns, dx += dy on the others (rows × 3D).</summary>
    public static void Backward(float* dx, float* dy, float* cos, float* sin, int rows, int dim, int headDim, int ropeHeads, int period)
    {
        int cols = 3 * dim, pairs = headDim / 2;
        Workers.ForRange(rows, RowsPerItem(cols), (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                float* gx = dx + (long)r * cols, gy = dy + (long)r * cols;
                float* c = cos + (long)(r % period) * pairs, sn = sin + (long)(r % period) * pairs;
                for (int seg = 0; seg < 3; seg++)
                {
                    int rotated = seg < 2 ? ropeHeads * headDim : 0;
                    float* gxs = gx + seg * dim, gys = gy + seg * dim;
                    for (int i = 0; i < rotated / 2; i++)
                    {
                        int pi = i % pairs;
                        float a = gys[2 * i], b = gys[2 * i + 1];
                        gxs[2 * i] += a * c[pi] + b * sn[pi];
                        gxs[2 * i + 1] += -a * sn[pi] + b * c[pi];
                    }
                    for (int j = rotated; j < dim; j++) gxs[j] += gys[j];
                }
            }
        });
    }

    private static int RowsPerItem(int cols) => Math.Max(1, (1 << 14) / Math.Max(1, cols));
}
