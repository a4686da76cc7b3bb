using Genie.Core.IO;

namespace Genie.Media;

/// <summary>
/// Writes an animated GIF (GIF89a, looping) frame by frame. Each frame gets its own 256-colour palette: the
/// frame's exact colours when it has at most 256 (lossless; rendered game frames usually do), otherwise a
/// median-cut palette of 256 with each pixel mapped to its nearest entry. Pixels are LZW-compressed.
/// </summary>
/// <example><code>
/// using (var gif = new GifWriter(File.Create("run.gif"), 64, 64)) foreach (var f in frames) gif.AddFrame(f, 10);
/// </code></example>
public sealed class GifWriter : IDisposable
{
    private readonly Stream _out;
    private readonly bool _leaveOpen;
    private bool _finished;

    /// <summary>Width of every frame.</summary>
    public int Width { get; }
    /// <summary>Height of every frame.</summary>
    public int Height { get; }
    /// <summary>Frames written so far.</summary>
    public int FrameCount { get; private set; }

    /// <summary>Starts a GIF on <paramref name="output"/>; <paramref name="loopCount"/> 0 loops forever.</summary>
    public GifWriter(Stream output, int width, int height, int loopCount = 0, bool leaveOpen = false)
    {
        if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
            throw new ArgumentOutOfRangeException(nameof(width), $"a GIF is 1..65535 pixels on a side, got {width}×{height}");
        _out = output; _leaveOpen = leaveOpen;
        Width = width; Height = height;
        Span<byte> head = stackalloc byte[13];
        "GIF89a"u8.CopyTo(head);
        WriteU16(head[6..], width);
        WriteU16(head[8..], height);
        head[10] = 0; // no global colour table: every frame carries its own
        head[11] = 0; head[12] = 0;
        _out.Write(head);
        // NETSCAPE2.0 application extension: loop count.
        _out.Write([0x21, 0xFF, 11]);
        _out.Write("NETSCAPE2.0"u8);
        _out.Write([3, 1, (byte)(loopCount & 0xFF), (byte)(loopCount >> 8), 0]);
    }

    /// <summary>Appends a frame shown for <paramref name="delayCentiseconds"/> hundredths of a second.</summary>
    public void AddFrame(Image frame, int delayCentiseconds = 10)
    {
        if (_finished) throw new InvalidOperationException("the GIF is already finished");
        if (frame.Width != Width || frame.Height != Height)
            throw new ArgumentException($"frame is {frame.Width}×{frame.Height}, the GIF is {Width}×{Height}");
        var (palette, indices) = Quantize(frame);
        int bits = 1;
        while ((1 << bits) < palette.Count) bits++;

        // Graphic control extension: disposal "leave in place", delay, no transparency.
        int delay = Math.Clamp(delayCentiseconds, 0, 65535);
        _out.Write([0x21, 0xF9, 4, 1 << 2, (byte)(delay & 0xFF), (byte)(delay >> 8), 0, 0]);
        // Image descriptor with a local colour table of 2^bits entries.
        Span<byte> desc = stackalloc byte[10];
        desc[0] = 0x2C;
        WriteU16(desc[1..], 0); WriteU16(desc[3..], 0);
        WriteU16(desc[5..], Width); WriteU16(desc[7..], Height);
        desc[9] = (byte)(0x80 | (bits - 1));
        _out.Write(desc);
        var table = new byte[3 << bits];
        for (int i = 0; i < palette.Count; i++)
        {
            table[3 * i] = (byte)(palette[i] >> 16); table[3 * i + 1] = (byte)(palette[i] >> 8); table[3 * i + 2] = (byte)palette[i];
        }
        _out.Write(table);
        int minCodeSize = Math.Max(2, bits);
        _out.WriteByte((byte)minCodeSize);
        LzwEncode(indices, minCodeSize, _out);
        FrameCount++;
    }

    /// <summary>Writes the trailer. Called by <see cref="Dispose"/> if not called before.</summary>
    public void Finish()
    {
        if (_finished) return;
        _finished = true;
        _out.WriteByte(0x3B);
        _out.Flush();
    }

    /// <summary>Finishes the GIF and closes the stream unless asked to leave it open.</summary>
    public void Dispose()
    {
        Finish();
        if (!_leaveOpen) _out.Dispose();
    }

    /// <summary>Writes <paramref name="frames"/> to <paramref name="path"/> as a looping GIF, atomically.</summary>
    public static void Save(string path, IEnumerable<Image> frames, int delayCentiseconds = 10)
    {
        AtomicFile.Write(path, s =>
        {
            GifWriter? gif = null;
            foreach (var f in frames)
            {
                gif ??= new GifWriter(s, f.Width, f.Height, leaveOpen: true);
                gif.AddFrame(f, delayCentiseconds);
            }
            if (gif is null) throw new ArgumentException("a GIF needs at least one frame");
            gif.Finish();
        });
    }

    /// <summary>The bytes of a looping GIF of <paramref name="frames"/>.</summary>
    public static byte[] Encode(IEnumerable<Image> frames, int delayCentiseconds = 10)
    {
        using var ms = new MemoryStream();
        GifWriter? gif = null;
        foreach (var f in frames)
        {
            gif ??= new GifWriter(ms, f.Width, f.Height, leaveOpen: true);
            gif.AddFrame(f, delayCentiseconds);
        }
        if (gif is null) throw new ArgumentException("a GIF needs at least one frame");
        gif.Finish();
        return ms.ToArray();
    }

    private static void WriteU16(Span<byte> dst, int v) { dst[0] = (byte)v; dst[1] = (byte)(v >> 8); }

    // ------------------------------------------------------------------ palette

    /// <summary>A palette (packed 0xRRGGBB, at most 256) and each pixel's index into it.</summary>
    internal static (List<int> Palette, byte[] Indices) Quantize(Image frame)
    {
        byte[] d = frame.Data;
        int n = frame.Width * frame.Height;
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < n; i++)
        {
            int c = (d[3 * i] << 16) | (d[3 * i + 1] << 8) | d[3 * i + 2];
            counts[c] = counts.GetValueOrDefault(c) + 1;
        }
        List<int> palette = counts.Count <= 256 ? counts.Keys.ToList() : MedianCut(counts, 256);
        var lookup = new Dictionary<int, byte>(counts.Count);
        if (counts.Count <= 256)
            for (int i = 0; i < palette.Count; i++) lookup[palette[i]] = (byte)i;
        else
            foreach (int c in counts.Keys) lookup[c] = Nearest(palette, c);
        var indices = new byte[n];
        for (int i = 0; i < n; i++)
            indices[i] = lookup[(d[3 * i] << 16) | (d[3 * i + 1] << 8) | d[3 * i + 2]];
        return (palette, indices);
    }

    private static byte Nearest(List<int> palette, int c)
    {
        int r = c >> 16, g = (c >> 8) & 0xFF, b = c & 0xFF, best = 0, bestD = int.MaxValue;
        for (int i = 0; i < palette.Count; i++)
        {
            int p = palette[i];
            int dr = r - (p >> 16), dg = g - ((p >> 8) & 0xFF), db = b - (p & 0xFF);
            int dist = 2 * dr * dr + 4 * dg * dg + 3 * db * db; // rough perceptual weights
            if (dist < bestD) { bestD = dist; best = i; }
        }
        return (byte)best;
    }

    /// <summary>
    /// Median cut: repeatedly split the box with the most pixels × widest channel range at the pixel-weighted
    /// median of that channel, until <paramref name="size"/> boxes; each box's colour is its weighted mean.
    /// </summary>
    private static List<int> MedianCut(Dictionary<int, int> counts, int size)
    {
        var colors = counts.Select(kv => (C: kv.Key, N: kv.Value)).ToArray();
        var boxes = new List<(int Start, int Count)> { (0, colors.Length) };
        while (boxes.Count < size)
        {
            int pick = -1, channel = 0; long bestScore = 0;
            for (int bi = 0; bi < boxes.Count; bi++)
            {
                var (s, cnt) = boxes[bi];
                if (cnt < 2) continue;
                long pixels = 0;
                for (int ch = 0; ch < 3; ch++)
                {
                    int lo = 255, hi = 0, shift = 16 - 8 * ch;
                    for (int i = s; i < s + cnt; i++) { int v = (colors[i].C >> shift) & 0xFF; lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                    if (pixels == 0) for (int i = s; i < s + cnt; i++) pixels += colors[i].N;
                    long score = (long)(hi - lo) * pixels;
                    if (score > bestScore) { bestScore = score; pick = bi; channel = ch; }
                }
            }
            if (pick < 0) break;
            var (start, count) = boxes[pick];
            int sh = 16 - 8 * channel;
            Array.Sort(colors, start, count, Comparer<(int C, int N)>.Create((a, b) => ((a.C >> sh) & 0xFF).CompareTo((b.C >> sh) & 0xFF)));
            long total = 0, half = 0;
            for (int i = start; i < start + count; i++) total += colors[i].N;
            int cut = start + 1;
            for (int i = start; i < start + count - 1; i++)
            {
                half += colors[i].N;
                cut = i + 1;
                if (2 * half >= total) break;
            }
            boxes[pick] = (start, cut - start);
            boxes.Add((cut, start + count - cut));
        }
        var palette = new List<int>(boxes.Count);
        foreach (var (s, cnt) in boxes)
        {
            long r = 0, g = 0, b = 0, w = 0;
            for (int i = s; i < s + cnt; i++)
            {
                var (c, n) = colors[i];
                r += (long)(c >> 16) * n; g += (long)((c >> 8) & 0xFF) * n; b += (long)(c & 0xFF) * n; w += n;
            }
            palette.Add((int)((r + w / 2) / w) << 16 | (int)((g + w / 2) / w) << 8 | (int)((b + w / 2) / w));
        }
        return palette;
    }

    // ------------------------------------------------------------------ LZW

    /// <summary>
    /// GIF's variable-width LZW: codes start at minCodeSize+1 bits and grow to 12; a clear code resets the
    /// table when it is full. Codes are packed LSB-first into sub-blocks of at most 255 bytes.
    /// </summary>
    internal static void LzwEncode(ReadOnlySpan<byte> indices, int minCodeSize, Stream output)
    {
        int clear = 1 << minCodeSize, eoi = clear + 1;
        int codeSize = minCodeSize + 1, next = eoi + 1;
        var table = new Dictionary<int, int>(4096);
        var sink = new BitSink(output);
        sink.Write(clear, codeSize);
        int prefix = indices[0];
        for (int i = 1; i < indices.Length; i++)
        {
            int k = indices[i];
            int key = (prefix << 8) | k;
            if (table.TryGetValue(key, out int code)) { prefix = code; continue; }
            sink.Write(prefix, codeSize);
            if (next == 4096)
            {
                // Table full: start over (a decoder stays at 12 bits until it reads this clear code).
                sink.Write(clear, codeSize);
                table.Clear();
                codeSize = minCodeSize + 1;
                next = eoi + 1;
            }
            else
            {
                table[key] = next++;
                // The decoder adds its entry one code later, so widen once `next` passes 2^codeSize.
                if (next > (1 << codeSize) && codeSize < 12) codeSize++;
            }
            prefix = k;
        }
        sink.Write(prefix, codeSize);
        sink.Write(eoi, codeSize);
        sink.Flush();
        output.WriteByte(0); // block terminator
    }

    private sealed class BitSink(Stream output)
    {
        private readonly byte[] _block = new byte[255];
        private int _fill, _bitCount;
        private uint _bits;

        public void Write(int code, int size)
        {
            _bits |= (uint)code << _bitCount;
            _bitCount += size;
            while (_bitCount >= 8) { Put((byte)_bits); _bits >>= 8; _bitCount -= 8; }
        }

        private void Put(byte b)
        {
            _block[_fill++] = b;
            if (_fill == 255) Emit();
        }

        private void Emit()
        {
            if (_fill == 0) return;
            output.WriteByte((byte)_fill);
            output.Write(_block, 0, _fill);
            _fill = 0;
        }

        public void Flush()
        {
            if (_bitCount > 0) { Put((byte)_bits); _bits = 0; _bitCount = 0; }
            Emit();
        }
    }
}
