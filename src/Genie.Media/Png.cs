using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Genie.Core.IO;

namespace Genie.Media;

/// <summary>
/// PNG reading and writing for <see cref="Image"/> (RGB24), with nothing but System.IO.Compression.
/// </summary>
/// <remarks>
/// The encoder writes 8-bit RGB, non-interlaced, choosing each row's filter by the usual minimum-sum-of-
/// absolute-differences heuristic. The decoder reads every standard layout — grey, RGB, palette, grey+alpha
/// and RGBA at every legal bit depth (1–16), plain or Adam7-interlaced — and converts to RGB24: alpha is
/// dropped, 16-bit samples keep their high byte, low-depth grey is scaled to 0–255. Anything else (a bad
/// signature, a CRC mismatch, truncated or undecompressable data, an illegal header) throws
/// <see cref="InvalidDataException"/> with a message that says what is wrong.
/// </remarks>
public static class Png
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];
    private const long MaxPixels = 1L << 28; // refuse absurd headers instead of allocating gigabytes

    // ------------------------------------------------------------------ writing

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void Save(Image image, string path) => AtomicFile.Write(path, s => Encode(image, s));

    /// <summary>The PNG bytes of <paramref name="image"/>.</summary>
    public static byte[] Encode(Image image)
    {
        using var ms = new MemoryStream();
        Encode(image, ms);
        return ms.ToArray();
    }

    /// <summary>Writes <paramref name="image"/> as an 8-bit RGB PNG to <paramref name="output"/>.</summary>
    public static void Encode(Image image, Stream output, CompressionLevel level = CompressionLevel.Optimal)
    {
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: RGB
        ihdr[10] = 0; // deflate
        ihdr[11] = 0; // adaptive filtering
        ihdr[12] = 0; // not interlaced
        WriteChunk(output, "IHDR", ihdr);

        int stride = image.Width * 3;
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, level, leaveOpen: true))
        {
            var prev = new byte[stride];
            var line = new byte[stride + 1];
            var best = new byte[stride + 1];
            for (int y = 0; y < image.Height; y++)
            {
                var cur = image.Data.AsSpan(y * stride, stride);
                long bestSum = long.MaxValue;
                for (byte f = 0; f <= 4; f++)
                {
                    line[0] = f;
                    long sum = FilterRow(f, cur, prev, line.AsSpan(1), 3);
                    if (sum < bestSum) { bestSum = sum; line.CopyTo(best, 0); }
                }
                z.Write(best);
                cur.CopyTo(prev);
            }
        }
        WriteChunk(output, "IDAT", idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
    }

    /// <summary>Applies filter <paramref name="f"/> to one row; returns the sum of |signed bytes| (the filter-choice heuristic).</summary>
    private static long FilterRow(byte f, ReadOnlySpan<byte> cur, ReadOnlySpan<byte> prev, Span<byte> dst, int bpp)
    {
        long sum = 0;
        for (int i = 0; i < cur.Length; i++)
        {
            int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
            int pred = f switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) >> 1, _ => Paeth(a, b, c) };
            byte v = (byte)(cur[i] - pred);
            dst[i] = v;
            int sv = (sbyte)v;
            sum += sv < 0 ? -sv : sv;
        }
        return sum;
    }

    // A chunk's CRC-32 (the PNG and zlib polynomial) over its type and data: System.IO.Hashing's, vectorised.
    private static uint ChunkCrc(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(type);
        crc.Append(data);
        return crc.GetCurrentHashAsUInt32();
    }

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(data);
        uint crc = ChunkCrc(head[4..], data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        s.Write(tail);
    }

    // ------------------------------------------------------------------ reading

    /// <summary>Reads a PNG file.</summary>
    public static Image Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try { return Decode(bytes); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>Decodes PNG bytes to RGB24.</summary>
    public static Image Decode(ReadOnlySpan<byte> png)
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(Signature))
            throw new InvalidDataException("not a PNG file (bad signature)");

        int width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
        byte[]? palette = null;
        using var idat = new MemoryStream();
        bool sawEnd = false;
        int pos = 8;
        while (pos < png.Length)
        {
            if (pos + 12 > png.Length) throw new InvalidDataException("corrupt PNG: truncated chunk header");
            uint len = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            if (len > int.MaxValue || pos + 12 + (long)len > png.Length)
                throw new InvalidDataException("corrupt PNG: chunk runs past the end of the file (truncated?)");
            var typeBytes = png.Slice(pos + 4, 4);
            var data = png.Slice(pos + 8, (int)len);
            string type = Encoding.ASCII.GetString(typeBytes);
            uint want = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + (int)len)..]);
            uint got = ChunkCrc(typeBytes, data);
            if (want != got) throw new InvalidDataException($"corrupt PNG: CRC mismatch in chunk {type}");
            pos += 12 + (int)len;

            if (colorType < 0 && type != "IHDR") throw new InvalidDataException("corrupt PNG: the first chunk is not IHDR");
            switch (type)
            {
                case "IHDR":
                    if (len != 13) throw new InvalidDataException("corrupt PNG: IHDR has the wrong length");
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    depth = data[8]; colorType = data[9]; interlace = data[12];
                    CheckHeader(width, height, depth, colorType, data[10], data[11], interlace);
                    break;
                case "PLTE":
                    if (len % 3 != 0 || len == 0 || len > 768) throw new InvalidDataException("corrupt PNG: PLTE length is not 3·n with 1 ≤ n ≤ 256");
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    sawEnd = true;
                    break;
                default:
                    // Ancillary chunks (lower-case first letter) may be skipped; an unknown critical one may not.
                    if ((typeBytes[0] & 0x20) == 0) throw new InvalidDataException($"unsupported PNG: unknown critical chunk {type}");
                    break;
            }
            if (sawEnd) break;
        }
        if (colorType < 0) throw new InvalidDataException("corrupt PNG: no IHDR chunk");
        if (!sawEnd) throw new InvalidDataException("corrupt PNG: no IEND chunk (truncated file?)");
        if (idat.Length == 0) throw new InvalidDataException("corrupt PNG: no image data (IDAT)");
        if (colorType == 3 && palette is null) throw new InvalidDataException("corrupt PNG: palette image without a PLTE chunk");

        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        int bitsPerPixel = channels * depth;
        int bpp = Math.Max(1, bitsPerPixel / 8); // filter unit in bytes

        // The size of the decompressed stream: filtered rows of every (Adam7) pass.
        (int X0, int Y0, int Dx, int Dy)[] passes = interlace == 0 ? [(0, 0, 1, 1)] : Adam7;
        long expected = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            long pw = PassSize(width, x0, dx), ph = PassSize(height, y0, dy);
            if (pw > 0 && ph > 0) expected += ph * (1 + (pw * bitsPerPixel + 7) / 8);
        }
        var raw = new byte[expected];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int n = 0;
            while (n < raw.Length)
            {
                int r = z.Read(raw, n, raw.Length - n);
                if (r == 0) throw new InvalidDataException($"corrupt PNG: image data ends early ({n} of {raw.Length} bytes)");
                n += r;
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("corrupt PNG"))
        {
            throw new InvalidDataException($"corrupt PNG: bad compressed image data ({e.Message})", e);
        }

        var img = new Image(width, height);
        int offset = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            int pw = PassSize(width, x0, dx), ph = PassSize(height, y0, dy);
            if (pw == 0 || ph == 0) continue;
            int stride = (int)(((long)pw * bitsPerPixel + 7) / 8);
            var prev = new byte[stride];
            var cur = new byte[stride];
            for (int r = 0; r < ph; r++)
            {
                byte filter = raw[offset];
                raw.AsSpan(offset + 1, stride).CopyTo(cur);
                offset += stride + 1;
                Unfilter(filter, cur, prev, bpp);
                int y = y0 + r * dy;
                for (int i = 0; i < pw; i++)
                {
                    int o = (y * width + x0 + i * dx) * 3;
                    WritePixel(cur, i, colorType, depth, channels, palette, img.Data.AsSpan(o, 3));
                }
                (prev, cur) = (cur, prev);
            }
        }
        return img;
    }

    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    private static int PassSize(int size, int start, int step) => size <= start ? 0 : (size - start + step - 1) / step;

    private static void CheckHeader(int width, int height, int depth, int colorType, int compression, int filter, int interlace)
    {
        if (width <= 0 || height <= 0) throw new InvalidDataException($"corrupt PNG: bad size {width}×{height}");
        if ((long)width * height > MaxPixels) throw new InvalidDataException($"unsupported PNG: {width}×{height} is too large");
        bool ok = colorType switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (!ok) throw new InvalidDataException($"corrupt PNG: colour type {colorType} with bit depth {depth} is not a legal combination");
        if (compression != 0) throw new InvalidDataException($"unsupported PNG: compression method {compression}");
        if (filter != 0) throw new InvalidDataException($"unsupported PNG: filter method {filter}");
        if (interlace > 1) throw new InvalidDataException($"unsupported PNG: interlace method {interlace}");
    }

    private static void Unfilter(byte filter, Span<byte> cur, ReadOnlySpan<byte> prev, int bpp)
    {
        switch (filter)
        {
            case 0: break;
            case 1: for (int i = bpp; i < cur.Length; i++) cur[i] += cur[i - bpp]; break;
            case 2: for (int i = 0; i < cur.Length; i++) cur[i] += prev[i]; break;
            case 3:
                for (int i = 0; i < cur.Length; i++)
                    cur[i] += (byte)(((i >= bpp ? cur[i - bpp] : 0) + prev[i]) >> 1);
                break;
            case 4:
                for (int i = 0; i < cur.Length; i++)
                    cur[i] += (byte)Paeth(i >= bpp ? cur[i - bpp] : 0, prev[i], i >= bpp ? prev[i - bpp] : 0);
                break;
            default: throw new InvalidDataException($"corrupt PNG: unknown row filter {filter}");
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Sample <paramref name="c"/> of pixel <paramref name="i"/> in an unfiltered row, as 0–255 (or a raw palette index).</summary>
    private static int Sample(ReadOnlySpan<byte> row, int i, int c, int depth, int channels, bool scale)
    {
        int k = i * channels + c;
        switch (depth)
        {
            case 8: return row[k];
            case 16: return row[2 * k];
            default:
                int bit = k * depth;
                int v = (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
                return scale ? v * 255 / ((1 << depth) - 1) : v;
        }
    }

    private static void WritePixel(ReadOnlySpan<byte> row, int i, int colorType, int depth, int channels, byte[]? palette, Span<byte> rgb)
    {
        switch (colorType)
        {
            case 0:
            case 4:
                rgb[0] = rgb[1] = rgb[2] = (byte)Sample(row, i, 0, depth, channels, scale: true);
                break;
            case 3:
                int idx = Sample(row, i, 0, depth, channels, scale: false);
                if (idx * 3 + 2 >= palette!.Length) throw new InvalidDataException($"corrupt PNG: palette index {idx} outside a palette of {palette.Length / 3}");
                rgb[0] = palette[idx * 3]; rgb[1] = palette[idx * 3 + 1]; rgb[2] = palette[idx * 3 + 2];
                break;
            default: // 2 RGB, 6 RGBA
                rgb[0] = (byte)Sample(row, i, 0, depth, channels, true);
                rgb[1] = (byte)Sample(row, i, 1, depth, channels, true);
                rgb[2] = (byte)Sample(row, i, 2, depth, channels, true);
                break;
        }
    }
}
