using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Genie.Engine.Kernels;

/// <summary>
/// The handful of SIMD operations the GEMM and attention kernels need, as static members of a struct so
/// that one generic kernel body (<c>Kernel&lt;TV, TOps&gt;</c>) is compiled by the JIT into separate,
/// fully inlined machine code for each width: <see cref="V512"/>, <see cref="V256"/>, <see cref="V128"/>
/// and the scalar <see cref="V1"/> (TV = float). Generic instantiation over a struct type argument is
/// specialised, so <c>TOps.Fma(a, b, c)</c> becomes a single <c>vfmadd231ps</c>; no interface dispatch
/// survives into the generated code.
/// </summary>
internal unsafe interface IVec<TV> where TV : unmanaged
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Width { get; }
    static abstract TV Zero { get; }
    static abstract TV Create(float x);
    static abstract TV Load(float* p);
    static abstract void Store(TV v, float* p);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Div(TV a, TV b);
    /// <summary>a·b + c with one rounding.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract TV Max(TV a, TV b);
    static abstract TV Exp(TV x);
    /// <summary>Lane-wise <c>x &lt; y ? ifLess : otherwise</c>.</summary>
    static abstract TV SelectLess(TV x, TV y, TV ifLess, TV otherwise);
    /// <summary>(0, 1, 2, …, Width−1) as floats, for building causal lane masks.</summary>
    static abstract TV Indices { get; }
    static abstract float MaxAcross(TV v);
    static abstract float SumAcross(TV v);
}

/// <summary>512-bit lanes (AVX-512 on x64).</summary>
internal unsafe struct V512 : IVec<Vector512<float>>
{
    public static int Width => 16;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Create(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        // See ExpPoly. y = t·log2(e) + Magic rounds n = round(t·log2 e) into y's low mantissa bits, biased by
        // 127, so y − Magic is n as a float and (bits(y) << 23) is 2^n as a float.
        var t = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpPoly.Lo)), Vector512.Create(ExpPoly.Hi));
        var y = Vector512.FusedMultiplyAdd(t, Vector512.Create(ExpPoly.Log2E), Vector512.Create(ExpPoly.Magic));
        var n = y - Vector512.Create(ExpPoly.Magic);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-ExpPoly.Ln2Hi), t);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-ExpPoly.Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(ExpPoly.C5), r, Vector512.Create(ExpPoly.C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpPoly.C0));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512.Create(1f));
        var twoN = Vector512.ShiftLeft(y.As<float, int>(), 23).As<int, float>();
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(ExpPoly.Lo)), Vector512<float>.Zero, p * twoN);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectLess(Vector512<float> x, Vector512<float> y, Vector512<float> ifLess, Vector512<float> otherwise) =>
        Vector512.ConditionalSelect(Vector512.LessThan(x, y), ifLess, otherwise);
    public static Vector512<float> Indices => Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> v) => V256.MaxAcross(Vector256.Max(v.GetLower(), v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector512<float> v) => Vector512.Sum(v);
}

/// <summary>256-bit lanes (AVX2).</summary>
internal unsafe struct V256 : IVec<Vector256<float>>
{
    public static int Width => 8;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Create(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        // See ExpPoly. y = t·log2(e) + Magic rounds n = round(t·log2 e) into y's low mantissa bits, biased by
        // 127, so y − Magic is n as a float and (bits(y) << 23) is 2^n as a float.
        var t = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpPoly.Lo)), Vector256.Create(ExpPoly.Hi));
        var y = Vector256.FusedMultiplyAdd(t, Vector256.Create(ExpPoly.Log2E), Vector256.Create(ExpPoly.Magic));
        var n = y - Vector256.Create(ExpPoly.Magic);
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-ExpPoly.Ln2Hi), t);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-ExpPoly.Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(ExpPoly.C5), r, Vector256.Create(ExpPoly.C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpPoly.C0));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256.Create(1f));
        var twoN = Vector256.ShiftLeft(y.As<float, int>(), 23).As<int, float>();
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(ExpPoly.Lo)), Vector256<float>.Zero, p * twoN);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectLess(Vector256<float> x, Vector256<float> y, Vector256<float> ifLess, Vector256<float> otherwise) =>
        Vector256.ConditionalSelect(Vector256.LessThan(x, y), ifLess, otherwise);
    public static Vector256<float> Indices => Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> v) => V128.MaxAcross(Vector128.Max(v.GetLower(), v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector256<float> v) => Vector256.Sum(v);
}

/// <summary>128-bit lanes (SSE / NEON).</summary>
internal unsafe struct V128 : IVec<Vector128<float>>
{
    public static int Width => 4;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Create(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        // See ExpPoly. y = t·log2(e) + Magic rounds n = round(t·log2 e) into y's low mantissa bits, biased by
        // 127, so y − Magic is n as a float and (bits(y) << 23) is 2^n as a float.
        var t = Vector128.Min(Vector128.Max(x, Vector128.Create(ExpPoly.Lo)), Vector128.Create(ExpPoly.Hi));
        var y = Vector128.FusedMultiplyAdd(t, Vector128.Create(ExpPoly.Log2E), Vector128.Create(ExpPoly.Magic));
        var n = y - Vector128.Create(ExpPoly.Magic);
        var r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-ExpPoly.Ln2Hi), t);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-ExpPoly.Ln2Lo), r);
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(ExpPoly.C5), r, Vector128.Create(ExpPoly.C4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpPoly.C3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpPoly.C2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpPoly.C1));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpPoly.C0));
        p = Vector128.FusedMultiplyAdd(p, r * r, r + Vector128.Create(1f));
        var twoN = Vector128.ShiftLeft(y.As<float, int>(), 23).As<int, float>();
        return Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(ExpPoly.Lo)), Vector128<float>.Zero, p * twoN);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectLess(Vector128<float> x, Vector128<float> y, Vector128<float> ifLess, Vector128<float> otherwise) =>
        Vector128.ConditionalSelect(Vector128.LessThan(x, y), ifLess, otherwise);
    public static Vector128<float> Indices => Vector128.Create(0f, 1, 2, 3);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v) => MathF.Max(MathF.Max(v[0], v[1]), MathF.Max(v[2], v[3]));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector128<float> v) => Vector128.Sum(v);
}

/// <summary>One lane: the scalar fallback, same kernel bodies with TV = float.</summary>
internal unsafe struct V1 : IVec<float>
{
    public static int Width => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Create(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float v, float* p) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sub(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Div(float a, float b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => MathF.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Exp(float x) => MathF.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SelectLess(float x, float y, float ifLess, float otherwise) => x < y ? ifLess : otherwise;
    public static float Indices => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MaxAcross(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(float v) => v;
}

/// <summary>
/// Constants of the single-precision exp used by the softmax kernels (Cephes expf): range reduction
/// x = n·ln2 + r with ln2 split in two parts, then exp(r) ≈ 1 + r + r²·P(r) with a degree-5 P on
/// |r| ≤ ln2/2 (about 1 ulp), and 2^n built directly in the exponent bits (Hi = 88.0 keeps n ≤ 127). Inputs below <see cref="Lo"/>
/// (where 2^n would leave the normal range) give exactly 0, so masked scores (−∞) vanish.
/// The BCL's Vector512.Exp is avoided on purpose: it widens to double (slower) and is not inlined.
/// </summary>
internal static class ExpPoly
{
    public const float Lo = -87.33654f, Hi = 88.0f;
    /// <summary>1.5·2^23 + 127: adding it rounds to an integer and leaves n + 127 in the low mantissa bits.</summary>
    public const float Magic = 12583039f;
    public const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    public const float C5 = 1.9875691500E-4f, C4 = 1.3981999507E-3f, C3 = 8.3334519073E-3f,
        C2 = 4.1665795894E-2f, C1 = 1.6666665459E-1f, C0 = 5.0000001201E-1f;
}

/// <summary>Which SIMD width the kernels use; tests lower it to exercise the narrower paths.</summary>
internal static class SimdPath
{
    /// <summary>Widest vector the kernels may use, in bits: 512, 256, 128, or 0 for scalar. Tests set this to
    /// force a lower path; the hardware still caps it.</summary>
    internal static int MaxVectorBits = 512;

    /// <summary>The width in bits that will actually run.</summary>
    internal static int Bits
    {
        get
        {
            int cap = MaxVectorBits;
            if (cap >= 512 && Vector512.IsHardwareAccelerated) return 512;
            if (cap >= 256 && Vector256.IsHardwareAccelerated) return 256;
            if (cap >= 128 && Vector128.IsHardwareAccelerated) return 128;
            return 0;
        }
    }

    /// <summary>8×8 transposes are done with AVX shuffles where available (pack routines).</summary>
    internal static bool Avx8x8 => Avx.IsSupported && MaxVectorBits >= 256;
}
