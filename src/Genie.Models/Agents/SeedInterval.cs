namespace Genie.Models.Agents;

/// <summary>Intervals over repetitions (seeds) of an experiment.</summary>
public static class SeedInterval
{
    /// <summary>Mean and the half-width of its 95 % Student-t interval (0 for a single value).</summary>
    public static (double Mean, double HalfWidth) Of(IReadOnlyList<double> xs)
    {
        int n = xs.Count;
        if (n == 0) return (double.NaN, double.NaN);
        double mean = xs.Average();
        if (n == 1) return (mean, 0);
        double sd = Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (n - 1));
        double[] t975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];
        double t = n - 1 <= t975.Length ? t975[n - 2] : 1.96;
        return (mean, t * sd / Math.Sqrt(n));
    }

}
