namespace Genie.Engine.Kernels;

/// <summary>
/// Plain multi-head attention in double precision, the oracle for <see cref="Attention"/>.
/// softmax(q·kᵀ/√hd [+ causal mask]) · v for every sequence and head of <see cref="AttentionShape"/>.
/// </summary>
internal static unsafe class AttentionReference
{
    /// <summary>out (rows × D) = attention over qkv (rows × 3D); lse (NumSeq, Heads, SeqLen) = log Σ exp(scores).</summary>
    public static void Forward(float* output, float* lse, float* qkv, AttentionShape a)
    {
        int L = a.SeqLen, hd = a.HeadDim, D = a.Dim;
        double scale = 1.0 / Math.Sqrt(hd);
        var p = new double[L];
        for (int s = 0; s < a.NumSeq; s++)
        for (int h = 0; h < a.Heads; h++)
        for (int i = 0; i < L; i++)
        {
            float* q = qkv + (long)a.Row(s, i) * 3 * D + h * hd;
            int visible = a.Causal ? i + 1 : L;
            double mx = double.NegativeInfinity;
            for (int j = 0; j < visible; j++)
            {
                float* k = qkv + (long)a.Row(s, j) * 3 * D + D + h * hd;
                double dot = 0;
                for (int c = 0; c < hd; c++) dot += (double)q[c] * k[c];
                p[j] = dot * scale;
                mx = Math.Max(mx, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < visible; j++) { p[j] = Math.Exp(p[j] - mx); sum += p[j]; }
            if (lse != null) lse[((long)s * a.Heads + h) * L + i] = (float)(mx + Math.Log(sum));
            float* o = output + (long)a.Row(s, i) * D + h * hd;
            for (int c = 0; c < hd; c++)
            {
                double acc = 0;
                for (int j = 0; j < visible; j++) acc += p[j] / sum * qkv[(long)a.Row(s, j) * 3 * D + 2 * D + h * hd + c];
                o[c] = (float)acc;
            }
        }
    }

    /// <summary>dqkv += gradient of Σ dout·out with respect to qkv.</summary>
    public static void Backward(float* dqkv, float* dout, float* qkv, AttentionShape a)
    {
        int L = a.SeqLen, hd = a.HeadDim, D = a.Dim;
        double scale = 1.0 / Math.Sqrt(hd);
        var p = new double[L * L];
        var dp = new double[L * L];
        for (int s = 0; s < a.NumSeq; s++)
        for (int h = 0; h < a.Heads; h++)
        {
            long Q(int t) => (long)a.Row(s, t) * 3 * D + h * hd;
            long K(int t) => Q(t) + D;
            long V(int t) => Q(t) + 2 * D;
            long O(int t) => (long)a.Row(s, t) * D + h * hd;
            // probabilities
            for (int i = 0; i < L; i++)
            {
                int visible = a.Causal ? i + 1 : L;
                double mx = double.NegativeInfinity;
                for (int j = 0; j < L; j++)
                {
                    if (j >= visible) { p[i * L + j] = double.NegativeInfinity; continue; }
                    double dot = 0;
                    for (int c = 0; c < hd; c++) dot += (double)qkv[Q(i) + c] * qkv[K(j) + c];
                    p[i * L + j] = dot * scale;
                    mx = Math.Max(mx, p[i * L + j]);
                }
                double sum = 0;
                for (int j = 0; j < L; j++) { p[i * L + j] = j < visible ? Math.Exp(p[i * L + j] - mx) : 0; sum += p[i * L + j]; }
                for (int j = 0; j < L; j++) p[i * L + j] /= sum;
            }
            // dP = dO·Vᵀ, dV = Pᵀ·dO
            for (int i = 0; i < L; i++)
            for (int j = 0; j < L; j++)
            {
                double acc = 0;
                for (int c = 0; c < hd; c++) acc += (double)dout[O(i) + c] * qkv[V(j) + c];
                dp[i * L + j] = acc;
            }
            for (int j = 0; j < L; j++)
            for (int c = 0; c < hd; c++)
            {
                double acc = 0;
                for (int i = 0; i < L; i++) acc += p[i * L + j] * dout[O(i) + c];
                dqkv[V(j) + c] += (float)acc;
            }
            // dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS·K·scale, dK = dSᵀ·Q·scale
            for (int i = 0; i < L; i++)
            {
                double rs = 0;
                for (int j = 0; j < L; j++) rs += p[i * L + j] * dp[i * L + j];
                for (int j = 0; j < L; j++) dp[i * L + j] = p[i * L + j] * (dp[i * L + j] - rs);
            }
            for (int i = 0; i < L; i++)
            for (int c = 0; c < hd; c++)
            {
                double acc = 0;
                for (int j = 0; j < L; j++) acc += dp[i * L + j] * qkv[K(j) + c];
                dqkv[Q(i) + c] += (float)(acc * scale);
            }
            for (int j = 0; j < L; j++)
            for (int c = 0; c < hd; c++)
            {
                double acc = 0;
                for (int i = 0; i < L; i++) acc += dp[i * L + j] * qkv[Q(i) + c];
                dqkv[K(j) + c] += (float)(acc * scale);
            }
        }
    }
}
