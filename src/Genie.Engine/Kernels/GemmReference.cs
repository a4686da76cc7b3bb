namespace Genie.Engine.Kernels;

/// <summary>
/// Plain scalar single-precision GEMM, the oracle for <see cref="Gemm"/>:
/// <c>C = alpha · op(A) · op(B) + beta · C</c>, where <c>op(X)</c> is X or Xᵀ.
/// </summary>
internal static unsafe class GemmReference
{
    /// <summary>
    /// Row-major GEMM. <c>op(A)</c> is (M, K), <c>op(B)</c> is (K, N), C is (M, N).
    /// A is stored (M, K) with leading dimension <paramref name="lda"/> when not transposed, (K, M) when transposed;
    /// likewise B is (K, N) or (N, K). With <paramref name="beta"/> = 0, C is written without being read.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[(long)p * lda + i] : a[(long)i * lda + p];
                float bv = transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
                sum += (double)av * bv;
            }
            float prev = beta == 0f ? 0f : beta * c[(long)i * ldc + j];
            c[(long)i * ldc + j] = (float)(alpha * sum) + prev;
        }
    }
}
