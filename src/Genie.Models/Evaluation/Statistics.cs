namespace Genie.Models.Evaluation;

/// <summary>
/// Image structure and distribution distances for evaluation reports: SSIM, codebook perplexity, Gaussian fits of
/// features and the Fréchet distance between them (the FID/FVD formula), with the symmetric eigen-solver it rests on.
/// Plain double-precision code: these run on hundreds of frames or features, not in training loops.
/// </summary>
public static class Statistics
{
    /// <summary>
    /// Mean SSIM (Wang et al. 2004) of two uint8 RGB images (H, W, 3) on their luminance (BT.601, scaled to [0, 1]),
    /// with the standard 11×11 Gaussian window (σ = 1.5), C1 = (0.01)², C2 = (0.03)², averaged over the positions
    /// where the window fits. Identical images give 1.
    /// </summary>
    public static double Ssim(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int height, int width)
    {
        if (a.Length != height * width * 3 || b.Length != a.Length) throw new ArgumentException($"images must both be {width}x{height}x3 bytes");
        const int size = 11;
        const double sigma = 1.5, c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        int win = Math.Min(size, Math.Min(height, width)), half = win / 2;
        var kernel = new double[win];
        double ksum = 0;
        for (int i = 0; i < win; i++) { kernel[i] = Math.Exp(-((i - half) * (i - half)) / (2 * sigma * sigma)); ksum += kernel[i]; }
        for (int i = 0; i < win; i++) kernel[i] /= ksum;
        var x = Luma(a, height * width);
        var y = Luma(b, height * width);
        double total = 0;
        int count = 0;
        for (int r = 0; r + win <= height; r++)
            for (int c = 0; c + win <= width; c++)
            {
                double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
                for (int i = 0; i < win; i++)
                    for (int j = 0; j < win; j++)
                    {
                        double w = kernel[i] * kernel[j], u = x[(r + i) * width + c + j], v = y[(r + i) * width + c + j];
                        mx += w * u; my += w * v; sxx += w * u * u; syy += w * v * v; sxy += w * u * v;
                    }
                double vx = sxx - mx * mx, vy = syy - my * my, cov = sxy - mx * my;
                total += (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count++;
            }
        return total / count;
    }

    private static double[] Luma(ReadOnlySpan<byte> rgb, int pixels)
    {
        var l = new double[pixels];
        for (int p = 0; p < pixels; p++) l[p] = (0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2]) / 255.0;
        return l;
    }

    /// <summary>Perplexity exp(H) of the distribution of <paramref name="ids"/>: the number of equally used codes it equals.</summary>
    public static double Perplexity(ReadOnlySpan<int> ids)
    {
        if (ids.Length == 0) return 0;
        var counts = new Dictionary<int, int>();
        foreach (var id in ids) counts[id] = counts.GetValueOrDefault(id) + 1;
        double h = 0, n = ids.Length;
        foreach (var c in counts.Values) h -= c / n * Math.Log(c / n);
        return Math.Exp(h);
    }

    /// <summary>Mean (D) and covariance (D×D, row-major, divided by n − 1) of n feature rows of width D.</summary>
    public static (double[] Mean, double[] Covariance) FitGaussian(IReadOnlyList<float[]> rows)
    {
        if (rows.Count < 2) throw new ArgumentException("a covariance needs at least two feature rows");
        int d = rows[0].Length;
        var mean = new double[d];
        foreach (var r in rows)
        {
            if (r.Length != d) throw new ArgumentException("feature rows differ in width");
            for (int i = 0; i < d; i++) mean[i] += r[i];
        }
        for (int i = 0; i < d; i++) mean[i] /= rows.Count;
        var cov = new double[d * d];
        var centred = new double[d];
        foreach (var r in rows)
        {
            for (int i = 0; i < d; i++) centred[i] = r[i] - mean[i];
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) cov[i * d + j] += centred[i] * centred[j];
        }
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++) cov[j * d + i] = cov[i * d + j] /= rows.Count - 1;
        return (mean, cov);
    }

    /// <summary>
    /// Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2): ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½). The matrix
    /// square roots are taken through symmetric eigendecompositions with negative round-off eigenvalues clipped to 0,
    /// so the result is real and stable for singular (rank-deficient) covariances, unlike the general sqrtm of
    /// Σ1·Σ2 that FID code often uses.
    /// </summary>
    public static double FrechetDistance(double[] mean1, double[] cov1, double[] mean2, double[] cov2)
    {
        int d = mean1.Length;
        if (mean2.Length != d || cov1.Length != d * d || cov2.Length != d * d) throw new ArgumentException("means and covariances must share one dimension");
        double diff = 0;
        for (int i = 0; i < d; i++) diff += (mean1[i] - mean2[i]) * (mean1[i] - mean2[i]);
        double trace = 0;
        for (int i = 0; i < d; i++) trace += cov1[i * d + i] + cov2[i * d + i];
        var s1 = SymmetricSqrt(cov1, d);
        var m = Multiply(Multiply(s1, cov2, d), s1, d);
        for (int i = 0; i < d; i++)                            // symmetrise the round-off
            for (int j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
        var (values, _) = SymmetricEigen(m, d);
        double traceSqrt = values.Sum(v => Math.Sqrt(Math.Max(0, v)));
        return Math.Max(0, diff + trace - 2 * traceSqrt);
    }

    /// <summary>The symmetric PSD square root of a symmetric matrix (d×d): V·diag(√max(λ, 0))·Vᵀ.</summary>
    public static double[] SymmetricSqrt(double[] a, int d)
    {
        var (values, vectors) = SymmetricEigen(a, d);
        var r = new double[d * d];
        for (int k = 0; k < d; k++)
        {
            double s = Math.Sqrt(Math.Max(0, values[k]));
            if (s == 0) continue;
            for (int i = 0; i < d; i++)
            {
                double vik = vectors[i * d + k] * s;
                for (int j = 0; j < d; j++) r[i * d + j] += vik * vectors[j * d + k];
            }
        }
        return r;
    }

    /// <summary>
    /// Eigenvalues and eigenvectors (columns of a row-major d×d matrix) of a symmetric matrix, by cyclic Jacobi
    /// rotations until the off-diagonal mass is below 1e-22 of the total (or 100 sweeps).
    /// </summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int d)
    {
        if (matrix.Length != d * d) throw new ArgumentException($"{matrix.Length} values are not a {d}×{d} matrix");
        var a = (double[])matrix.Clone();
        var v = new double[d * d];
        for (int i = 0; i < d; i++) v[i * d + i] = 1;
        double norm = a.Sum(x => x * x);
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++) off += 2 * a[p * d + q] * a[p * d + q];
            if (off <= 1e-22 * Math.Max(norm, 1e-300)) break;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++)
                {
                    double apq = a[p * d + q];
                    if (apq == 0) continue;
                    double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < d; k++)
                    {
                        double akp = a[k * d + p], akq = a[k * d + q];
                        a[k * d + p] = c * akp - s * akq;
                        a[k * d + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double apk = a[p * d + k], aqk = a[q * d + k];
                        a[p * d + k] = c * apk - s * aqk;
                        a[q * d + k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < d; k++)
                    {
                        double vkp = v[k * d + p], vkq = v[k * d + q];
                        v[k * d + p] = c * vkp - s * vkq;
                        v[k * d + q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[d];
        for (int i = 0; i < d; i++) values[i] = a[i * d + i];
        return (values, v);
    }

    private static double[] Multiply(double[] x, double[] y, int d)
    {
        var r = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int k = 0; k < d; k++)
            {
                double xik = x[i * d + k];
                if (xik == 0) continue;
                for (int j = 0; j < d; j++) r[i * d + j] += xik * y[k * d + j];
            }
        return r;
    }
}
