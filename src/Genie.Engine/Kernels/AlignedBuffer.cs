namespace Genie.Engine.Kernels;

/// <summary>
/// A grow-only, 64-byte aligned float buffer on the pinned object heap, owned by one thread
/// (kernels keep them in <c>[ThreadStatic]</c> fields). After the first call of a given size no kernel
/// allocates: the buffer is reused and only grows. Contents are not cleared.
/// </summary>
public sealed unsafe class AlignedBuffer
{
    private float[] _array = [];
    private float* _ptr;
    private long _capacity;

    /// <summary>A pointer to at least <paramref name="floats"/> floats, 64-byte aligned. Valid until the next
    /// call that asks for more.</summary>
    public float* Get(long floats)
    {
        if (floats > _capacity)
        {
            long want = Math.Max(floats, _capacity * 3 / 2);
            _array = GC.AllocateUninitializedArray<float>(checked((int)(want + 16)), pinned: true);
            fixed (float* p = _array) _ptr = (float*)(((nint)p + 63) & ~(nint)63);
            _capacity = want;
        }
        return _ptr;
    }
}
