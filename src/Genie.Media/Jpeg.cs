using System.Buffers.Binary;

namespace Genie.Media;

/// <summary>
/// JPEG decoder (ITU T.81): baseline and extended sequential (SOF0/SOF1) and progressive (SOF2) Huffman-coded
/// 8-bit images, any sampling factors, restart intervals, greyscale, YCbCr, RGB and Adobe CMYK/YCCK, and the
/// EXIF orientation a phone camera writes (the image comes out upright). Arithmetic-coded, lossless,
/// hierarchical and 12-bit files are refused with a message that says so.
/// </summary>
/// <remarks>
/// Coefficients of every scan are collected per component, then each 8×8 block is dequantised and inverse
/// transformed with a separable float IDCT; subsampled chroma is upsampled with centred linear interpolation
/// (libjpeg's "fancy" triangle filter for 2× factors), then converted to RGB with the JFIF equations.
/// Dimensions are checked against <c>maxPixels</c> from the frame header before any pixel memory is allocated.
/// </remarks>
public static class Jpeg
{
    /// <summary>Most scans a file may have (libjpeg-turbo's tools offer a similar cap against hostile files).</summary>
    public const int MaxScans = 500;

    /// <summary>Default cap on width·height (50 megapixels: an 8000×6000 phone photo fits).</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>Reads a JPEG file.</summary>
    public static Image Load(string path, long maxPixels = DefaultMaxPixels)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try { return Decode(bytes, maxPixels); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>True if the bytes start with a JPEG start-of-image marker.</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <summary>
    /// Width and height as displayed (after the EXIF orientation), read from the headers without decoding.
    /// </summary>
    public static (int Width, int Height) ReadSize(ReadOnlySpan<byte> data)
    {
        var p = new Parser(data, maxPixels: long.MaxValue, headerOnly: true);
        p.Run();
        return p.Orientation >= 5 ? (p.Height, p.Width) : (p.Width, p.Height);
    }

    /// <summary>Decodes JPEG bytes to RGB24, upright according to the EXIF orientation tag.</summary>
    /// <exception cref="InvalidDataException">Not a JPEG, corrupt, an unsupported coding, or larger than <paramref name="maxPixels"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, long maxPixels = DefaultMaxPixels)
    {
        var p = new Parser(data, maxPixels, headerOnly: false);
        p.Run();
        return Orient(p.Output(), p.Orientation);
    }

    // ------------------------------------------------------------------ tables

    /// <summary>Zig-zag index k → natural (row-major) index in the 8×8 block.</summary>
    private static readonly byte[] ZigZag =
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
        28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
        54, 47, 55, 62, 63,
        // Padding so a corrupt run past 63 lands in a harmless slot instead of out of range.
        63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
    ];

    /// <summary>IDCT basis: C[x·8 + u] = c(u)/2 · cos((2x+1)uπ/16), c(0) = 1/√2.</summary>
    private static readonly float[] IdctBasis = BuildBasis();

    private static float[] BuildBasis()
    {
        var t = new float[64];
        for (int x = 0; x < 8; x++)
            for (int u = 0; u < 8; u++)
                t[x * 8 + u] = (float)((u == 0 ? Math.Sqrt(0.5) : 1.0) / 2 * Math.Cos((2 * x + 1) * u * Math.PI / 16));
        return t;
    }

    /// <summary>A Huffman table: canonical codes (T.81 Annex C) with a 9-bit lookahead for short codes.</summary>
    private sealed class Huffman
    {
        public const int FastBits = 9;
        public readonly byte[] Symbols;
        public readonly int[] MaxCode = new int[18];   // largest code of each length (−1: none), [17] sentinel
        public readonly int[] ValOffset = new int[17]; // symbol index of code c of length l: c + ValOffset[l]
        public readonly ushort[] Fast = new ushort[1 << FastBits]; // (length << 8 | symbol), 0 = not a short code

        public Huffman(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols)
        {
            Symbols = symbols.ToArray();
            int code = 0, k = 0;
            for (int len = 1; len <= 16; len++)
            {
                int n = counts[len - 1];
                ValOffset[len] = k - code;
                if (n > 0)
                {
                    for (int i = 0; i < n; i++, k++, code++)
                    {
                        if (len <= FastBits)
                        {
                            int shift = FastBits - len, first = code << shift;
                            for (int j = 0; j < 1 << shift; j++) Fast[first + j] = (ushort)(len << 8 | Symbols[k]);
                        }
                    }
                    if (code - 1 >= 1 << len) throw new InvalidDataException("corrupt JPEG: a Huffman table has more codes than fit their lengths");
                    MaxCode[len] = code - 1;
                }
                else MaxCode[len] = -1;
                code <<= 1;
            }
            MaxCode[17] = int.MaxValue;
        }
    }

    private sealed class Component
    {
        public int Id, H, V, Tq;
        public int BlocksPerLine, BlocksPerColumn;       // blocks covering the component's own samples
        public int BlocksPerLineMcu, BlocksPerColumnMcu; // the same, padded to whole MCUs
        public short[] Coefs = [];                       // natural order, not yet dequantised, 64 per block
        public int Pred;                                 // DC predictor
        public Huffman? Dc, Ac;
        public byte[] Plane = [];                        // decoded samples, (BlocksPerColumnMcu·8) × (BlocksPerLineMcu·8)
        public int PlaneStride => BlocksPerLineMcu * 8;
    }

    // ------------------------------------------------------------------ parser

    private ref struct Parser
    {
        private readonly ReadOnlySpan<byte> _d;
        private readonly long _maxPixels;
        private readonly bool _headerOnly;
        private int _pos;
        private readonly ushort[][] _quant = new ushort[4][];   // natural order
        private readonly Huffman?[] _dcTables = new Huffman?[4], _acTables = new Huffman?[4];
        private Component[] _comps = [];
        private bool _progressive, _frame;
        private int _restartInterval, _hMax = 1, _vMax = 1, _mcusPerLine, _mcusPerColumn;
        private int _adobeTransform = -1; // −1: no Adobe marker
        private bool _jfif;

        public int Width, Height, Orientation;

        // Bit reader over entropy-coded data.
        private uint _bits;
        private int _bitCount;
        private bool _hitMarker;
        private int _eobRun;

        public Parser(ReadOnlySpan<byte> data, long maxPixels, bool headerOnly)
        {
            _d = data; _maxPixels = maxPixels; _headerOnly = headerOnly;
            Orientation = 1;
        }

        public void Run()
        {
            if (_d.Length < 4 || _d[0] != 0xFF || _d[1] != 0xD8)
                throw new InvalidDataException("not a JPEG file (no start-of-image marker)");
            _pos = 2;
            while (true)
            {
                int marker = NextMarker();
                if (marker < 0)
                {
                    // No end-of-image marker: the file was cut short (a part-uploaded photo). Refused rather than
                    // decoded into a half-grey picture that would then be played as if it were the user's image.
                    throw new InvalidDataException(_scans > 0
                        ? "corrupt JPEG: the file ends inside the image data, before its end-of-image marker (truncated?)"
                        : "corrupt JPEG: the file ends before the image data (truncated?)");
                }
                switch (marker)
                {
                    case 0xD8: continue;                               // a stray SOI
                    case 0xD9: if (!_frame) throw new InvalidDataException("corrupt JPEG: no frame header before the end of the image"); if (_scans == 0 && !_headerOnly) throw new InvalidDataException("corrupt JPEG: no image data"); return;
                    case 0xC0: case 0xC1: case 0xC2: ReadFrame(Segment(), progressive: marker == 0xC2); break;
                    case 0xC3: throw new InvalidDataException("lossless JPEG (SOF3) is not supported; save the image as a normal (baseline or progressive) JPEG or as PNG");
                    case 0xC5: case 0xC6: case 0xC7: case 0xCD: case 0xCE: case 0xCF:
                        throw new InvalidDataException("hierarchical JPEG is not supported; save the image as a normal (baseline or progressive) JPEG or as PNG");
                    case 0xC9: case 0xCA: case 0xCB:
                        throw new InvalidDataException("arithmetic-coded JPEG is not supported; save the image as a normal (Huffman-coded) JPEG or as PNG");
                    case 0xC4: ReadHuffman(Segment()); break;
                    case 0xDB: ReadQuant(Segment()); break;
                    case 0xDD:
                    {
                        var s = Segment();
                        if (s.Length < 2) throw new InvalidDataException("corrupt JPEG: short DRI segment");
                        _restartInterval = BinaryPrimitives.ReadUInt16BigEndian(s);
                        break;
                    }
                    case 0xDA:
                    {
                        var s = Segment();
                        if (!_frame) throw new InvalidDataException("corrupt JPEG: image data before the frame header");
                        if (_headerOnly) return;                       // everything a size query needs is known
                        // A progressive file has about 10 scans; thousands of tiny ones would each walk every block.
                        if (_scans >= MaxScans) throw new InvalidDataException($"corrupt JPEG: more than {MaxScans} scans");
                        ReadScan(s);
                        _scans++;
                        break;
                    }
                    case 0xDC: throw new InvalidDataException("JPEG with a DNL marker (height given after the data) is not supported");
                    case 0xE0: { var s = Segment(); if (s.Length >= 5 && s[..5].SequenceEqual("JFIF\0"u8)) _jfif = true; break; }
                    case 0xE1: ReadExif(Segment()); break;
                    case 0xEE:
                    {
                        var s = Segment();
                        if (s.Length >= 12 && s[..5].SequenceEqual("Adobe"u8)) _adobeTransform = s[11];
                        break;
                    }
                    default:
                        if (marker >= 0xD0 && marker <= 0xD7) continue; // a stray restart marker between segments
                        Segment();                                      // APPn, COM, and anything else with a length: skip
                        break;
                }
            }
        }

        private int _scans;

        /// <summary>The next marker code after _pos, skipping fill bytes; −1 at the end of the data.</summary>
        private int NextMarker()
        {
            while (_pos < _d.Length)
            {
                if (_d[_pos] != 0xFF) { _pos++; continue; }       // tolerate garbage between segments
                while (_pos < _d.Length && _d[_pos] == 0xFF) _pos++;
                if (_pos >= _d.Length) return -1;
                int m = _d[_pos++];
                if (m == 0) continue;                               // stuffed zero: not a marker
                return m;
            }
            return -1;
        }

        private ReadOnlySpan<byte> Segment()
        {
            if (_pos + 2 > _d.Length) throw new InvalidDataException("corrupt JPEG: truncated segment header");
            int len = BinaryPrimitives.ReadUInt16BigEndian(_d[_pos..]);
            if (len < 2 || _pos + len > _d.Length) throw new InvalidDataException("corrupt JPEG: a segment runs past the end of the file (truncated?)");
            var s = _d.Slice(_pos + 2, len - 2);
            _pos += len;
            return s;
        }

        private void ReadFrame(ReadOnlySpan<byte> s, bool progressive)
        {
            if (_frame) throw new InvalidDataException("corrupt JPEG: more than one frame header");
            if (s.Length < 6) throw new InvalidDataException("corrupt JPEG: short frame header");
            int precision = s[0];
            if (precision != 8) throw new InvalidDataException($"{precision}-bit JPEG is not supported (only 8-bit samples)");
            Height = BinaryPrimitives.ReadUInt16BigEndian(s[1..]);
            Width = BinaryPrimitives.ReadUInt16BigEndian(s[3..]);
            int nc = s[5];
            if (Width == 0 || Height == 0) throw new InvalidDataException($"corrupt or unsupported JPEG: frame size {Width}×{Height}");
            if ((long)Width * Height > _maxPixels)
                throw new InvalidDataException($"the image is {Width}×{Height} ({(long)Width * Height / 1e6:0.#} megapixels), more than the {_maxPixels / 1e6:0.#} megapixels allowed");
            if (nc is not (1 or 3 or 4)) throw new InvalidDataException($"JPEG with {nc} colour components is not supported (1, 3 or 4)");
            if (s.Length < 6 + 3 * nc) throw new InvalidDataException("corrupt JPEG: short frame header");
            _comps = new Component[nc];
            for (int i = 0; i < nc; i++)
            {
                int h = s[7 + 3 * i] >> 4, v = s[7 + 3 * i] & 15, tq = s[8 + 3 * i];
                if (h is < 1 or > 4 || v is < 1 or > 4) throw new InvalidDataException($"corrupt JPEG: sampling factor {h}x{v}");
                if (tq > 3) throw new InvalidDataException("corrupt JPEG: quantisation table id > 3");
                _comps[i] = new Component { Id = s[6 + 3 * i], H = h, V = v, Tq = tq };
            }
            _progressive = progressive;
            _frame = true;
            if (_headerOnly) return;
            _hMax = _comps.Max(c => c.H);
            _vMax = _comps.Max(c => c.V);
            _mcusPerLine = (Width + 8 * _hMax - 1) / (8 * _hMax);
            _mcusPerColumn = (Height + 8 * _vMax - 1) / (8 * _vMax);
            foreach (var c in _comps)
            {
                if (_hMax % c.H != 0 || _vMax % c.V != 0)
                    throw new InvalidDataException($"JPEG sampling factors {string.Join(",", _comps.Select(k => $"{k.H}x{k.V}"))} are not integer ratios; not supported");
                int cw = (Width * c.H + _hMax - 1) / _hMax, ch = (Height * c.V + _vMax - 1) / _vMax;
                c.BlocksPerLine = (cw + 7) / 8;
                c.BlocksPerColumn = (ch + 7) / 8;
                c.BlocksPerLineMcu = _mcusPerLine * c.H;
                c.BlocksPerColumnMcu = _mcusPerColumn * c.V;
                c.Coefs = new short[checked(c.BlocksPerLineMcu * c.BlocksPerColumnMcu * 64)];
            }
        }

        private void ReadQuant(ReadOnlySpan<byte> s)
        {
            while (s.Length > 0)
            {
                int pq = s[0] >> 4, tq = s[0] & 15;
                if (tq > 3 || pq > 1) throw new InvalidDataException("corrupt JPEG: bad quantisation table header");
                int size = pq == 0 ? 64 : 128;
                if (s.Length < 1 + size) throw new InvalidDataException("corrupt JPEG: short quantisation table");
                var q = new ushort[64];
                for (int k = 0; k < 64; k++)
                    q[ZigZag[k]] = pq == 0 ? s[1 + k] : BinaryPrimitives.ReadUInt16BigEndian(s[(1 + 2 * k)..]);
                _quant[tq] = q;
                s = s[(1 + size)..];
            }
        }

        private void ReadHuffman(ReadOnlySpan<byte> s)
        {
            while (s.Length > 0)
            {
                if (s.Length < 17) throw new InvalidDataException("corrupt JPEG: short Huffman table");
                int tc = s[0] >> 4, th = s[0] & 15;
                if (tc > 1 || th > 3) throw new InvalidDataException("corrupt JPEG: bad Huffman table header");
                var counts = s.Slice(1, 16);
                int total = 0;
                foreach (var c in counts) total += c;
                if (total > 256 || s.Length < 17 + total) throw new InvalidDataException("corrupt JPEG: bad Huffman table");
                var table = new Huffman(counts, s.Slice(17, total));
                if (tc == 0) _dcTables[th] = table; else _acTables[th] = table;
                s = s[(17 + total)..];
            }
        }

        private void ReadExif(ReadOnlySpan<byte> s)
        {
            int o = ExifOrientation(s);
            if (o > 0) Orientation = o;
        }

        // ------------------------------------------------------------------ scans

        private void ReadScan(ReadOnlySpan<byte> s)
        {
            int ns = s.Length > 0 ? s[0] : 0;
            if (ns < 1 || ns > 4 || s.Length < 1 + 2 * ns + 3) throw new InvalidDataException("corrupt JPEG: bad scan header");
            var comps = new Component[ns];
            for (int i = 0; i < ns; i++)
            {
                int id = s[1 + 2 * i], tables = s[2 + 2 * i];
                var c = _comps.FirstOrDefault(k => k.Id == id) ?? throw new InvalidDataException($"corrupt JPEG: a scan names component {id}, which the frame does not have");
                c.Dc = _dcTables[tables >> 4];
                c.Ac = _acTables[tables & 15];
                comps[i] = c;
            }
            int ss = s[1 + 2 * ns], se = s[2 + 2 * ns], ah = s[3 + 2 * ns] >> 4, al = s[3 + 2 * ns] & 15;
            if (!_progressive) { ss = 0; se = 63; ah = 0; al = 0; }
            else if (ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13)
                throw new InvalidDataException("corrupt JPEG: bad progressive scan parameters");
            foreach (var c in comps)
            {
                if (ss == 0 && ah == 0 && c.Dc is null) throw new InvalidDataException("corrupt JPEG: a scan uses a DC Huffman table that was never defined");
                if (se > 0 && c.Ac is null) throw new InvalidDataException("corrupt JPEG: a scan uses an AC Huffman table that was never defined");
                c.Pred = 0;
            }

            _bits = 0; _bitCount = 0; _hitMarker = false; _eobRun = 0;
            bool single = ns == 1;
            int mcus = single
                ? comps[0].BlocksPerLine * comps[0].BlocksPerColumn
                : _mcusPerLine * _mcusPerColumn;
            int perLine = single ? comps[0].BlocksPerLine : _mcusPerLine;
            int interval = _restartInterval > 0 ? _restartInterval : int.MaxValue;
            for (int m = 0; m < mcus; m++)
            {
                if (m > 0 && m % interval == 0) Restart(comps);
                int my = m / perLine, mx = m % perLine;
                if (single)
                {
                    var c = comps[0];
                    DecodeBlock(c, (my * c.BlocksPerLineMcu + mx) * 64, ss, se, ah, al);
                }
                else
                {
                    foreach (var c in comps)
                        for (int v = 0; v < c.V; v++)
                            for (int h = 0; h < c.H; h++)
                            {
                                int row = my * c.V + v, col = mx * c.H + h;
                                DecodeBlock(c, (row * c.BlocksPerLineMcu + col) * 64, ss, se, ah, al);
                            }
                }
            }
            // Resume marker parsing at the first marker after the entropy-coded data.
            SkipToMarker();
        }

        private void Restart(Component[] comps)
        {
            // Byte-align, then expect RSTn. A missing one is tolerated (decoding just continues), like libjpeg.
            _bits = 0; _bitCount = 0;
            SkipToMarker();
            if (_pos + 1 < _d.Length && _d[_pos] == 0xFF && _d[_pos + 1] >= 0xD0 && _d[_pos + 1] <= 0xD7) _pos += 2;
            _hitMarker = false;
            _eobRun = 0;
            foreach (var c in comps) c.Pred = 0;
        }

        /// <summary>Moves _pos to the next 0xFF that starts a real marker (not FF00, not fill).</summary>
        private void SkipToMarker()
        {
            while (_pos < _d.Length)
            {
                if (_d[_pos] == 0xFF && _pos + 1 < _d.Length)
                {
                    byte n = _d[_pos + 1];
                    if (n == 0 || n == 0xFF) { _pos += n == 0 ? 2 : 1; continue; }
                    return;
                }
                _pos++;
            }
        }

        private void DecodeBlock(Component c, int offset, int ss, int se, int ah, int al)
        {
            var blk = c.Coefs.AsSpan(offset, 64);
            if (!_progressive)
            {
                int t = DecodeSymbol(c.Dc!);
                int diff = t == 0 ? 0 : Extend(Receive(t), t);
                c.Pred += diff;
                blk[0] = (short)c.Pred;
                var ac = c.Ac!;
                for (int k = 1; k < 64;)
                {
                    int rs = DecodeSymbol(ac), r = rs >> 4, sz = rs & 15;
                    if (sz == 0)
                    {
                        if (r != 15) break;
                        k += 16;
                        continue;
                    }
                    k += r;
                    if (k > 63) throw new InvalidDataException("corrupt JPEG: a coefficient run goes past the end of a block");
                    blk[ZigZag[k++]] = (short)Extend(Receive(sz), sz);
                }
                return;
            }
            if (ss == 0)
            {
                if (ah == 0)
                {
                    int t = DecodeSymbol(c.Dc!);
                    int diff = t == 0 ? 0 : Extend(Receive(t), t);
                    c.Pred += diff;
                    blk[0] = (short)(c.Pred * (1 << al));
                }
                else if (ReadBit() != 0) blk[0] |= (short)(1 << al);
                return;
            }
            if (ah == 0) DecodeAcFirst(c, blk, ss, se, al);
            else DecodeAcRefine(c, blk, ss, se, al);
        }

        private void DecodeAcFirst(Component c, Span<short> blk, int ss, int se, int al)
        {
            if (_eobRun > 0) { _eobRun--; return; }
            var ac = c.Ac!;
            for (int k = ss; k <= se;)
            {
                int rs = DecodeSymbol(ac), r = rs >> 4, sz = rs & 15;
                if (sz == 0)
                {
                    if (r < 15)
                    {
                        _eobRun = (1 << r) - 1;
                        if (r > 0) _eobRun += Receive(r);
                        break;
                    }
                    k += 16;
                    continue;
                }
                k += r;
                if (k > 63) throw new InvalidDataException("corrupt JPEG: a coefficient run goes past the end of a block");
                blk[ZigZag[k++]] = (short)(Extend(Receive(sz), sz) * (1 << al));
            }
        }

        // Successive approximation of AC coefficients (T.81 G.1.2.3), in the form stb_image and libjpeg use.
        private void DecodeAcRefine(Component c, Span<short> blk, int ss, int se, int al)
        {
            short bit = (short)(1 << al);
            if (_eobRun > 0)
            {
                _eobRun--;
                for (int k = ss; k <= se; k++) Refine(ref blk[ZigZag[k]], bit);
                return;
            }
            var ac = c.Ac!;
            int kk = ss;
            do
            {
                int rs = DecodeSymbol(ac), r = rs >> 4, sz = rs & 15;
                int value = 0;
                if (sz == 0)
                {
                    if (r < 15)
                    {
                        _eobRun = (1 << r) - 1;
                        if (r > 0) _eobRun += Receive(r);
                        r = 64; // refine the rest of this block, then stop
                    }
                    // r == 15: skip 16 zero coefficients (refining non-zero ones on the way)
                }
                else
                {
                    if (sz != 1) throw new InvalidDataException("corrupt JPEG: bad refinement code");
                    value = ReadBit() != 0 ? bit : -bit;
                }
                while (kk <= se)
                {
                    ref short p = ref blk[ZigZag[kk++]];
                    if (p != 0) Refine(ref p, bit);
                    else
                    {
                        if (r == 0) { p = (short)value; break; }
                        r--;
                    }
                }
            } while (kk <= se);
        }

        private void Refine(ref short p, short bit)
        {
            if (p == 0 || ReadBit() == 0 || (p & bit) != 0) return;
            p += p > 0 ? bit : (short)-bit;
        }

        // ------------------------------------------------------------------ bits

        private void Fill()
        {
            while (_bitCount <= 24)
            {
                int b = 0;
                if (!_hitMarker && _pos < _d.Length)
                {
                    b = _d[_pos];
                    if (b == 0xFF)
                    {
                        int next = _pos + 1 < _d.Length ? _d[_pos + 1] : 0xD9;
                        if (next == 0) _pos += 2;
                        else { _hitMarker = true; b = 0; }       // a marker: feed zeros from here on
                    }
                    else _pos++;
                }
                _bits |= (uint)b << (24 - _bitCount);
                _bitCount += 8;
            }
        }

        private int ReadBit()
        {
            if (_bitCount < 1) Fill();
            int v = (int)(_bits >> 31);
            _bits <<= 1; _bitCount--;
            return v;
        }

        private int Receive(int n)
        {
            if (n == 0) return 0;
            if (_bitCount < n) Fill();
            int v = (int)(_bits >> (32 - n));
            _bits <<= n; _bitCount -= n;
            return v;
        }

        private static int Extend(int v, int t) => v < 1 << (t - 1) ? v - (1 << t) + 1 : v;

        private int DecodeSymbol(Huffman h)
        {
            if (_bitCount < 16) Fill();
            int look = (int)(_bits >> (32 - Huffman.FastBits));
            int f = h.Fast[look];
            if (f != 0)
            {
                int len = f >> 8;
                _bits <<= len; _bitCount -= len;
                return f & 0xFF;
            }
            // Longer codes: compare the next l bits against the largest code of each length.
            int code = (int)(_bits >> (32 - Huffman.FastBits));
            int l = Huffman.FastBits;
            while (code > h.MaxCode[l])
            {
                l++;
                if (l > 16) throw new InvalidDataException("corrupt JPEG: bad Huffman code");
                code = (int)(_bits >> (32 - l));
            }
            _bits <<= l; _bitCount -= l;
            int idx = code + h.ValOffset[l];
            if ((uint)idx >= (uint)h.Symbols.Length) throw new InvalidDataException("corrupt JPEG: bad Huffman code");
            return h.Symbols[idx];
        }

        // ------------------------------------------------------------------ output

        public Image Output()
        {
            Span<float> block = stackalloc float[64];
            foreach (var c in _comps)
            {
                var q = _quant[c.Tq] ?? throw new InvalidDataException($"corrupt JPEG: quantisation table {c.Tq} was never defined");
                c.Plane = new byte[c.BlocksPerColumnMcu * 8 * c.PlaneStride];
                for (int by = 0; by < c.BlocksPerColumnMcu; by++)
                    for (int bx = 0; bx < c.BlocksPerLineMcu; bx++)
                    {
                        var coefs = c.Coefs.AsSpan((by * c.BlocksPerLineMcu + bx) * 64, 64);
                        InverseDct(coefs, q, block);
                        int o = by * 8 * c.PlaneStride + bx * 8;
                        for (int y = 0; y < 8; y++)
                            for (int x = 0; x < 8; x++)
                            {
                                float v = block[y * 8 + x] + 128f;
                                c.Plane[o + y * c.PlaneStride + x] = v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5f);
                            }
                    }
                c.Coefs = [];
            }
            // Upsample every component to the full frame.
            var full = new byte[_comps.Length][];
            for (int i = 0; i < _comps.Length; i++) full[i] = Upsample(_comps[i]);
            var img = new Image(Width, Height);
            var d = img.Data;
            int n = Width * Height;
            if (_comps.Length == 1)
            {
                var y = full[0];
                for (int i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = y[i];
                return img;
            }
            bool rgb = _comps.Length == 3 && (_adobeTransform == 0 || (_adobeTransform < 0 && !_jfif && _comps[0].Id == 'R' && _comps[1].Id == 'G' && _comps[2].Id == 'B'));
            bool ycc = _comps.Length == 3 ? !rgb : _adobeTransform == 2;
            for (int i = 0; i < n; i++)
            {
                byte r, g, b;
                if (ycc) YccToRgb(full[0][i], full[1][i], full[2][i], out r, out g, out b);
                else { r = full[0][i]; g = full[1][i]; b = full[2][i]; }
                if (_comps.Length == 4)
                {
                    // Adobe CMYK (and YCCK after the transform) is stored inverted: 255 means no ink.
                    int k = full[3][i];
                    if (ycc) { r = (byte)(255 - r); g = (byte)(255 - g); b = (byte)(255 - b); }
                    r = (byte)((r * k + 127) / 255); g = (byte)((g * k + 127) / 255); b = (byte)((b * k + 127) / 255);
                }
                d[3 * i] = r; d[3 * i + 1] = g; d[3 * i + 2] = b;
            }
            return img;
        }

        private static void YccToRgb(int y, int cb, int cr, out byte r, out byte g, out byte b)
        {
            float fy = y, fcb = cb - 128f, fcr = cr - 128f;
            r = Clamp(fy + 1.402f * fcr);
            g = Clamp(fy - 0.344136f * fcb - 0.714136f * fcr);
            b = Clamp(fy + 1.772f * fcb);
        }

        private static byte Clamp(float v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5f);

        /// <summary>The component at full resolution (Width × Height), by centred linear interpolation.</summary>
        private byte[] Upsample(Component c)
        {
            int sx = _hMax / c.H, sy = _vMax / c.V, stride = c.PlaneStride;
            int cw = (Width * c.H + _hMax - 1) / _hMax, ch = (Height * c.V + _vMax - 1) / _vMax;
            var outp = new byte[Width * Height];
            if (sx == 1 && sy == 1)
            {
                for (int y = 0; y < Height; y++) Array.Copy(c.Plane, y * stride, outp, y * Width, Width);
                return outp;
            }
            // Source coordinate of output pixel x: (x + ½)/s − ½, clamped to the component's real samples.
            var (x0, x1, wx) = Taps(Width, sx, cw);
            var (y0, y1, wy) = Taps(Height, sy, ch);
            var row = new float[Width];
            for (int y = 0; y < Height; y++)
            {
                int r0 = y0[y] * stride, r1 = y1[y] * stride;
                float fy = wy[y];
                for (int x = 0; x < Width; x++)
                {
                    float a = c.Plane[r0 + x0[x]] + (c.Plane[r0 + x1[x]] - c.Plane[r0 + x0[x]]) * wx[x];
                    float b = c.Plane[r1 + x0[x]] + (c.Plane[r1 + x1[x]] - c.Plane[r1 + x0[x]]) * wx[x];
                    outp[y * Width + x] = Clamp(a + (b - a) * fy);
                }
            }
            return outp;
        }

        private static (int[] Lo, int[] Hi, float[] W) Taps(int size, int factor, int srcSize)
        {
            var lo = new int[size]; var hi = new int[size]; var w = new float[size];
            for (int i = 0; i < size; i++)
            {
                float s = (i + 0.5f) / factor - 0.5f;
                if (s < 0) s = 0;
                int i0 = Math.Min((int)s, srcSize - 1);
                lo[i] = i0;
                hi[i] = Math.Min(i0 + 1, srcSize - 1);
                w[i] = Math.Min(1f, s - i0);
            }
            return (lo, hi, w);
        }

        /// <summary>Dequantises one block and applies the separable 2-D inverse DCT (rows, then columns).</summary>
        private static void InverseDct(ReadOnlySpan<short> coefs, ushort[] q, Span<float> output)
        {
            Span<float> f = stackalloc float[64];
            bool acZero = true;
            for (int i = 1; i < 64; i++) if (coefs[i] != 0) { acZero = false; break; }
            if (acZero)
            {
                // Only DC: a flat block of DC·q/8.
                output.Fill(coefs[0] * q[0] / 8f);
                return;
            }
            for (int i = 0; i < 64; i++) f[i] = coefs[i] * q[i];
            var basis = IdctBasis;
            Span<float> tmp = stackalloc float[64];
            // Rows: tmp[v][x] = Σ_u C[x][u] F[v][u]
            for (int v = 0; v < 8; v++)
                for (int x = 0; x < 8; x++)
                {
                    float s = 0;
                    for (int u = 0; u < 8; u++) s += basis[x * 8 + u] * f[v * 8 + u];
                    tmp[v * 8 + x] = s;
                }
            // Columns: out[y][x] = Σ_v C[y][v] tmp[v][x]
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    float s = 0;
                    for (int v = 0; v < 8; v++) s += basis[y * 8 + v] * tmp[v * 8 + x];
                    output[y * 8 + x] = s;
                }
        }
    }

    /// <summary>
    /// The orientation (1..8) in an APP1 segment's payload ("Exif\0\0" + TIFF: byte order, 42, offset of IFD0;
    /// tag 0x0112, a SHORT, in IFD0), or 0 if there is none.
    /// </summary>
    private static int ExifOrientation(ReadOnlySpan<byte> s)
    {
        if (s.Length < 14 || !s[..6].SequenceEqual("Exif\0\0"u8)) return 0;
        var t = s[6..];
        bool le = t[0] == 'I' && t[1] == 'I';
        if (!le && !(t[0] == 'M' && t[1] == 'M')) return 0;
        long ifd = ReadU32(t, 4, le);
        if (ifd < 8 || ifd + 2 > t.Length) return 0;
        int n = ReadU16(t, (int)ifd, le);
        for (int i = 0; i < n; i++)
        {
            int e = (int)ifd + 2 + 12 * i;
            if (e + 12 > t.Length) return 0;
            if (ReadU16(t, e, le) == 0x0112 && ReadU16(t, e + 2, le) == 3)
            {
                int o = ReadU16(t, e + 8, le);
                return o is >= 1 and <= 8 ? o : 0;
            }
        }
        return 0;
    }

    private static int ReadU16(ReadOnlySpan<byte> t, int at, bool le) =>
        at + 2 > t.Length ? -1 : le ? BinaryPrimitives.ReadUInt16LittleEndian(t[at..]) : BinaryPrimitives.ReadUInt16BigEndian(t[at..]);

    private static long ReadU32(ReadOnlySpan<byte> t, int at, bool le) =>
        at + 4 > t.Length ? -1 : le ? BinaryPrimitives.ReadUInt32LittleEndian(t[at..]) : BinaryPrimitives.ReadUInt32BigEndian(t[at..]);

    /// <summary>Applies an EXIF orientation (1..8) so the image shows upright.</summary>
    public static Image Orient(Image src, int orientation)
    {
        if (orientation is <= 1 or > 8) return src;
        int w = src.Width, h = src.Height;
        bool swap = orientation >= 5;
        var dst = new Image(swap ? h : w, swap ? w : h);
        for (int dy = 0; dy < dst.Height; dy++)
            for (int dx = 0; dx < dst.Width; dx++)
            {
                var (sx, sy) = orientation switch
                {
                    2 => (w - 1 - dx, dy),
                    3 => (w - 1 - dx, h - 1 - dy),
                    4 => (dx, h - 1 - dy),
                    5 => (dy, dx),
                    6 => (dy, h - 1 - dx),
                    7 => (w - 1 - dy, h - 1 - dx),
                    _ => (w - 1 - dy, dx),          // 8
                };
                int s = (sy * w + sx) * 3, o = (dy * dst.Width + dx) * 3;
                dst.Data[o] = src.Data[s]; dst.Data[o + 1] = src.Data[s + 1]; dst.Data[o + 2] = src.Data[s + 2];
            }
        return dst;
    }
}
