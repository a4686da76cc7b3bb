using System.Buffers.Binary;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Genie.Core.IO;

namespace Genie.Data;

/// <summary>Element types this project stores in <c>.npy</c> files.</summary>
public enum NpyDType
{
    /// <summary>uint8 (<c>|u1</c>): video frames.</summary>
    UInt8,
    /// <summary>int32 little-endian (<c>&lt;i4</c>): actions.</summary>
    Int32,
}

/// <summary>The header of a <c>.npy</c> file: element type, C-order shape, and where the data starts.</summary>
public sealed record NpyHeader(NpyDType DType, int[] Shape, long DataOffset)
{
    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    /// <summary>Bytes per element.</summary>
    public int ElementSize => DType == NpyDType.UInt8 ? 1 : 4;
    /// <summary>Shape as numpy prints it, e.g. (16, 64, 64, 3).</summary>
    public string ShapeText => NpyFile.FormatShape(Shape);
}

/// <summary>
/// Reads and writes NumPy's <c>.npy</c> format (version 1.0 header, C order) for uint8 and int32 arrays, so
/// that datasets open with <c>numpy.load</c> (and <c>numpy.load(..., mmap_mode="r")</c>) and arrays written by
/// numpy open here. The header is <c>\x93NUMPY</c>, version 1.0, a little-endian uint16 length, then a Python
/// dict literal padded with spaces and a newline so the data starts on a 64-byte boundary.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The complete header for an array (v1.0, padded to a multiple of 64 bytes).</summary>
    public static byte[] Header(NpyDType dtype, ReadOnlySpan<int> shape, int minLength = 0)
    {
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException("array dimensions must not be negative");
        string dict = $"{{'descr': '{(dtype == NpyDType.UInt8 ? "|u1" : "<i4")}', 'fortran_order': False, 'shape': {FormatShape(shape.ToArray())}, }}";
        int total = 10 + dict.Length + 1;
        total = Math.Max(total, minLength);
        total = (total + 63) / 64 * 64;
        if (total - 10 > ushort.MaxValue) throw new ArgumentException("array shape too long for a v1.0 header");
        var bytes = new byte[total];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1; bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(total - 10));
        var text = dict.PadRight(total - 10 - 1) + "\n";
        Encoding.ASCII.GetBytes(text, bytes.AsSpan(10));
        return bytes;
    }

    internal static string FormatShape(int[] shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0]},)",
        _ => "(" + string.Join(", ", shape) + ")",
    };

    /// <summary>Writes a uint8 array of <paramref name="shape"/> atomically.</summary>
    public static void Write(string path, ReadOnlySpan<byte> data, params int[] shape) => WriteRaw(path, NpyDType.UInt8, data, shape, data.Length);

    /// <summary>Writes an int32 array of <paramref name="shape"/> atomically (little-endian).</summary>
    public static void Write(string path, ReadOnlySpan<int> data, params int[] shape)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian machines are not supported");
        WriteRaw(path, NpyDType.Int32, MemoryMarshal.AsBytes(data), shape, data.Length);
    }

    private static void WriteRaw(string path, NpyDType dtype, ReadOnlySpan<byte> bytes, int[] shape, long count, bool atomic = true)
    {
        long want = shape.Aggregate(1L, (a, b) => a * b);
        if (want != count) throw new ArgumentException($"shape {FormatShape(shape)} holds {want} elements, got {count}");
        var header = Header(dtype, shape);
        if (!atomic)
        {
            using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            fs.Write(header);
            fs.Write(bytes);
            return;
        }
        var copy = bytes.ToArray();
        AtomicFile.Write(path, s => { s.Write(header); s.Write(copy); });
    }

    /// <summary>
    /// Writes a new file (it must not exist) without the temp-file-and-rename dance or a flush to disk: for files
    /// inside a directory that is itself published atomically (see <see cref="DatasetWriter"/>).
    /// </summary>
    internal static void WriteNew(string path, ReadOnlySpan<byte> data, params int[] shape) => WriteRaw(path, NpyDType.UInt8, data, shape, data.Length, atomic: false);

    /// <inheritdoc cref="WriteNew(string, ReadOnlySpan{byte}, int[])"/>
    internal static void WriteNew(string path, ReadOnlySpan<int> data, params int[] shape) =>
        WriteRaw(path, NpyDType.Int32, MemoryMarshal.AsBytes(data), shape, data.Length, atomic: false);

    /// <summary>Reads and checks the header of the file at <paramref name="path"/>.</summary>
    public static NpyHeader ReadHeader(string path)
    {
        using var fs = File.OpenRead(path);
        try { return ReadHeader(fs); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>Reads and checks a header at the stream's position, leaving it at the data.</summary>
    public static NpyHeader ReadHeader(Stream s)
    {
        Span<byte> pre = stackalloc byte[12];
        if (s.ReadAtLeast(pre[..10], 10, throwOnEndOfStream: false) < 10 || !pre[..6].SequenceEqual(Magic))
            throw new InvalidDataException("not a .npy file (bad magic)");
        int major = pre[6];
        long headerLen, start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]); start = 10; }
        else if (major is 2 or 3)
        {
            if (s.ReadAtLeast(pre[10..12], 2, false) < 2) throw new InvalidDataException("truncated .npy header");
            headerLen = BinaryPrimitives.ReadUInt32LittleEndian(pre[8..]); start = 12;
        }
        else throw new InvalidDataException($"unsupported .npy version {major}.{pre[7]}");
        if (headerLen > 1 << 20) throw new InvalidDataException("implausible .npy header length");
        var text = new byte[headerLen];
        if (s.ReadAtLeast(text, text.Length, false) < text.Length) throw new InvalidDataException("truncated .npy header");
        var dict = Encoding.Latin1.GetString(text);

        var descr = Regex.Match(dict, @"'descr'\s*:\s*'([^']*)'");
        var fortran = Regex.Match(dict, @"'fortran_order'\s*:\s*(True|False)");
        var shape = Regex.Match(dict, @"'shape'\s*:\s*\(([^)]*)\)");
        if (!descr.Success || !fortran.Success || !shape.Success) throw new InvalidDataException($"malformed .npy header: {dict.Trim()}");
        if (fortran.Groups[1].Value == "True") throw new InvalidDataException("Fortran-order arrays are not supported (save with C order)");
        NpyDType dtype = descr.Groups[1].Value switch
        {
            "|u1" or "<u1" or "u1" or "|b1" => NpyDType.UInt8,
            "<i4" or "i4" => NpyDType.Int32,
            var d => throw new InvalidDataException($"unsupported .npy dtype '{d}' (expected uint8 '|u1' or int32 '<i4')"),
        };
        var dims = new List<int>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long d) || d > int.MaxValue)
                throw new InvalidDataException($"bad .npy shape '({shape.Groups[1].Value})'");
            dims.Add((int)d);
        }
        var header = new NpyHeader(dtype, dims.ToArray(), start + headerLen);
        if (s.CanSeek && s.Length < header.DataOffset + header.Count * header.ElementSize)
            throw new InvalidDataException($"truncated .npy data: shape {header.ShapeText} needs {header.Count * header.ElementSize} bytes, " +
                                           $"the file has {s.Length - header.DataOffset}");
        return header;
    }

    /// <summary>Reads a whole uint8 array.</summary>
    public static (byte[] Data, int[] Shape) ReadUInt8(string path)
    {
        using var fs = File.OpenRead(path);
        var h = ReadHeaderOf(fs, path, NpyDType.UInt8);
        var data = new byte[h.Count];
        fs.ReadExactly(data);
        return (data, h.Shape);
    }

    /// <summary>Reads a whole int32 array.</summary>
    public static (int[] Data, int[] Shape) ReadInt32(string path)
    {
        using var fs = File.OpenRead(path);
        var h = ReadHeaderOf(fs, path, NpyDType.Int32);
        var data = new int[h.Count];
        fs.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        return (data, h.Shape);
    }

    private static NpyHeader ReadHeaderOf(FileStream fs, string path, NpyDType want)
    {
        NpyHeader h;
        try { h = ReadHeader(fs); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
        if (h.DType != want) throw new InvalidDataException($"{path}: expected a {want} array, found {h.DType}");
        return h;
    }
}

/// <summary>
/// Writes a <c>.npy</c> array whose first dimension is not known in advance (frames of a video as they are
/// decoded): a header with room to spare is written first and rewritten with the final length by
/// <see cref="Complete"/>. Write to a temporary path and rename it afterwards; an abandoned writer deletes its file.
/// </summary>
public sealed class NpyStreamWriter : IDisposable
{
    private const int HeaderBytes = 128; // room for any (N, H, W, C) shape
    private readonly FileStream _fs;
    private readonly NpyDType _dtype;
    private readonly int[] _inner;
    private readonly long _rowBytes;
    private bool _completed;

    /// <summary>The file being written.</summary>
    public string Path { get; }
    /// <summary>Rows written so far.</summary>
    public int Rows { get; private set; }

    /// <summary>Starts an array of rows shaped <paramref name="innerShape"/> (e.g. H, W, 3) at <paramref name="path"/>.</summary>
    public NpyStreamWriter(string path, NpyDType dtype, params int[] innerShape)
    {
        Path = path; _dtype = dtype; _inner = innerShape;
        _rowBytes = innerShape.Aggregate(1L, (a, b) => a * b) * (dtype == NpyDType.UInt8 ? 1 : 4);
        _fs = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        _fs.Write(NpyFile.Header(dtype, [int.MaxValue, .. innerShape], HeaderBytes));
    }

    /// <summary>Appends one row (<c>prod(innerShape)</c> elements as bytes).</summary>
    public void Append(ReadOnlySpan<byte> row)
    {
        if (_completed) throw new InvalidOperationException("the array is already complete");
        if (row.Length != _rowBytes) throw new ArgumentException($"a row is {_rowBytes} bytes, got {row.Length}");
        _fs.Write(row);
        Rows++;
    }

    /// <summary>Rewrites the header with the final row count, flushes to disk and closes the file.</summary>
    public void Complete()
    {
        if (_completed) return;
        var header = NpyFile.Header(_dtype, [Rows, .. _inner], HeaderBytes);
        if (header.Length != HeaderBytes) throw new InvalidOperationException("npy header grew past its reserved size");
        _fs.Position = 0;
        _fs.Write(header);
        _fs.Flush(flushToDisk: true);
        _fs.Dispose();
        _completed = true;
    }

    /// <summary>Closes the file; if <see cref="Complete"/> was not called, deletes it.</summary>
    public void Dispose()
    {
        if (_completed) return;
        _fs.Dispose();
        try { File.Delete(Path); } catch (IOException) { }
        _completed = true;
    }
}

/// <summary>
/// A read-only memory map of a uint8 <c>.npy</c> array: slices of it are read straight from the page cache,
/// nothing is loaded up front. Dispose it to unmap.
/// </summary>
public sealed unsafe class MappedNpy : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    /// <summary>The array's header.</summary>
    public NpyHeader Header { get; }
    /// <summary>The array's shape.</summary>
    public int[] Shape => Header.Shape;

    /// <summary>Maps the uint8 array at <paramref name="path"/>.</summary>
    public MappedNpy(string path)
    {
        Header = NpyFile.ReadHeader(path);
        if (Header.DType != NpyDType.UInt8) throw new InvalidDataException($"{path}: expected a uint8 array, found {Header.DType}");
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
        _base += _view.PointerOffset + Header.DataOffset;
    }

    /// <summary><paramref name="length"/> bytes of the data starting at element <paramref name="offset"/>.</summary>
    public ReadOnlySpan<byte> Slice(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Header.Count)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + length}) are outside an array of {Header.Count}");
        if (_base == null) throw new ObjectDisposedException(nameof(MappedNpy));
        return new ReadOnlySpan<byte>(_base + offset, length);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
