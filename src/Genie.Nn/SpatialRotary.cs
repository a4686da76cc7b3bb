using Genie.Engine;

namespace Genie.Nn;

/// <summary>
/// Two-dimensional rotary positions for the spatial attention over a frame's grid of H × W tokens (axial RoPE: Su et
/// al. 2021; Heo et al. 2024 for images): in each rotated head, the first half of the head's column pairs turn with
/// the token's row and the second half with its column, pair j of a half by the angle position · θ_j, θ_j =
/// 100^(−j / (hd/4)). A score between two rotated heads then depends on the tokens' offset (Δrow, Δcol) and not on
/// where in the frame they are, so "the content three rows up" is one relation for every token rather than one
/// learned per position. <c>offset</c> extra tokens before the grid (the dynamics model's action token) keep angle 0.
/// Only the first <see cref="Heads"/> heads turn; the rest attend as before. No parameters: the tables are fixed
/// (persistent CPU tensors, kept for the model's life). In the turned heads the offset tokens sit where grid token (0, 0)
/// does; the learned position embedding tells them apart.
/// </summary>
public sealed class SpatialRotary
{
    /// <summary>The base of the frequencies (100 rather than text's 10 000: a frame is a few dozen tokens across).</summary>
    public const double Base = 100;

    /// <summary>Cosines (offset + H·W, hd/2) of each row position's angles.</summary>
    public Tensor Cos { get; }
    /// <summary>Sines (offset + H·W, hd/2).</summary>
    public Tensor Sin { get; }
    /// <summary>Heads of each attention layer that turn (the first ones).</summary>
    public int Heads { get; }
    /// <summary>Head width hd the tables are for.</summary>
    public int HeadDim { get; }
    /// <summary>Token rows per frame, offset + H·W.</summary>
    public int Period { get; }

    /// <summary>Tables for frames of <paramref name="gridH"/> × <paramref name="gridW"/> tokens after <paramref name="offset"/> unrotated ones.</summary>
    public SpatialRotary(int gridH, int gridW, int offset, int headDim, int heads)
    {
        if (gridH < 1 || gridW < 1 || offset < 0) throw new ArgumentException($"spatial rotary: a {gridH}×{gridW} grid after {offset} tokens");
        if (headDim % 4 != 0) throw new ArgumentException($"spatial rotary needs a head width divisible by 4 (two axes of column pairs), got {headDim}");
        if (heads < 1) throw new ArgumentException($"spatial rotary turns at least one head, got {heads}");
        HeadDim = headDim;
        Heads = heads;
        Period = offset + gridH * gridW;
        var angles = Angles(gridH, gridW, offset, headDim);
        Cos = Tensor.Persistent(Period, headDim / 2);
        Sin = Tensor.Persistent(Period, headDim / 2);
        Span<float> cos = Cos.Span, sin = Sin.Span;
        for (int i = 0; i < angles.Length; i++) { cos[i] = (float)Math.Cos(angles[i]); sin[i] = (float)Math.Sin(angles[i]); }
    }

    /// <summary>The angle (offset + H·W, hd/2) of each token row's column pairs: row·θ_j for the first hd/4 pairs,
    /// column·θ_j for the rest, 0 for the offset tokens.</summary>
    public static double[] Angles(int gridH, int gridW, int offset, int headDim)
    {
        int pairs = headDim / 2, quarter = headDim / 4;
        var angles = new double[(offset + gridH * gridW) * pairs];
        for (int g = 0; g < gridH * gridW; g++)
        {
            int row = g / gridW, col = g % gridW;
            for (int i = 0; i < pairs; i++)
            {
                double theta = Math.Pow(Base, -(double)(i % quarter) / quarter);
                angles[(offset + g) * pairs + i] = (i < quarter ? row : col) * theta;
            }
        }
        return angles;
    }
}
