using Genie.Core;

namespace Genie.Models.Agents;

/// <summary>
/// The paper's map from latent to real actions (§6, appendix E): from N labelled transitions, D[a] is the list of
/// real actions seen with latent a, and at play time a real action is drawn from D[a] (so each real action in
/// proportion to how often it came with a). A latent never seen gets the most common real action of all the
/// labels (ties to the lower index; action 0 when there are no labels).
/// </summary>
public sealed class LatentActionDictionary
{
    private readonly long[,] _counts;   // (latents, actions)
    private readonly long[] _seen;      // per latent: labelled transitions

    /// <summary>Latent actions (rows).</summary>
    public int Latents { get; }
    /// <summary>Real actions (columns).</summary>
    public int Actions { get; }
    /// <summary>The real action an unseen latent maps to.</summary>
    public int Fallback { get; }

    /// <summary>A dictionary from <paramref name="counts"/>[latent, real]: transitions labelled with both.</summary>
    public LatentActionDictionary(long[,] counts)
    {
        Latents = counts.GetLength(0);
        Actions = counts.GetLength(1);
        if (Latents < 1 || Actions < 1) throw new ArgumentException($"counts must be at least 1x1, got {Latents}x{Actions}");
        _counts = (long[,])counts.Clone();
        _seen = new long[Latents];
        var total = new long[Actions];
        for (int l = 0; l < Latents; l++)
        for (int a = 0; a < Actions; a++)
        {
            if (counts[l, a] < 0) throw new ArgumentException($"count [{l}, {a}] is negative");
            _seen[l] += counts[l, a];
            total[a] += counts[l, a];
        }
        int best = 0;
        for (int a = 1; a < Actions; a++) if (total[a] > total[best]) best = a;
        Fallback = best;
    }

    /// <summary>Counts the labelled pairs (latent[i], real[i]) and builds the dictionary.</summary>
    public static LatentActionDictionary FromPairs(IReadOnlyList<int> latent, IReadOnlyList<int> real, int latents, int actions)
    {
        if (latent.Count != real.Count) throw new ArgumentException($"{latent.Count} latents for {real.Count} real actions");
        var counts = new long[latents, actions];
        for (int i = 0; i < latent.Count; i++)
        {
            if ((uint)latent[i] >= latents) throw new ArgumentException($"latent {latent[i]} is not in 0..{latents - 1}");
            if ((uint)real[i] >= actions) throw new ArgumentException($"real action {real[i]} is not in 0..{actions - 1}");
            counts[latent[i], real[i]]++;
        }
        return new LatentActionDictionary(counts);
    }

    /// <summary>Whether any labelled transition had latent <paramref name="latent"/>.</summary>
    public bool Seen(int latent) => _seen[latent] > 0;

    /// <summary>Labelled transitions with latent <paramref name="latent"/> and real action <paramref name="action"/>.</summary>
    public long Count(int latent, int action) => _counts[latent, action];

    /// <summary>The chance that <see cref="Sample"/> returns <paramref name="action"/> for <paramref name="latent"/>.</summary>
    public double Probability(int latent, int action)
    {
        if ((uint)latent >= Latents) throw new ArgumentException($"latent {latent} is not in 0..{Latents - 1}");
        if ((uint)action >= Actions) throw new ArgumentException($"action {action} is not in 0..{Actions - 1}");
        long n = _seen[latent];
        return n == 0 ? (action == Fallback ? 1 : 0) : _counts[latent, action] / (double)n;
    }

    /// <summary>
    /// How often the map recovers the true actions: the mean over the pairs (latent[i], real[i]) of the chance that a
    /// draw from D[latent[i]] is real[i].
    /// </summary>
    public double Agreement(IReadOnlyList<int> latent, IReadOnlyList<int> real)
    {
        if (latent.Count != real.Count) throw new ArgumentException($"{latent.Count} latents for {real.Count} real actions");
        if (latent.Count == 0) return double.NaN;
        double sum = 0;
        for (int i = 0; i < latent.Count; i++) sum += Probability(latent[i], real[i]);
        return sum / latent.Count;
    }

    /// <summary>A real action for <paramref name="latent"/>: drawn from D[latent] with <paramref name="rng"/>, or the fallback.</summary>
    public int Sample(int latent, Rng rng)
    {
        if ((uint)latent >= Latents) throw new ArgumentException($"latent {latent} is not in 0..{Latents - 1}");
        long n = _seen[latent];
        if (n == 0) return Fallback;
        long k = (long)(rng.NextDouble() * n);   // the k-th entry of the list D[latent]
        for (int a = 0; a < Actions; a++)
        {
            k -= _counts[latent, a];
            if (k < 0) return a;
        }
        return Actions - 1; // not reached: k < n
    }
}
