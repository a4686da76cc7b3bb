using System.Buffers.Binary;
using System.IO.Compression;
using Genie.Core;

namespace Genie.Media.Tests;

/// <summary>PNG writing and reading (SkiaSharp), resizing, and the GIF writer.</summary>
public class ImagingTests
{
    internal static Image RandomImage(int w, int h, int seed, int levels = 256)
    {
        var rng = new Rng((ulong)seed);
        var img = new Image(w, h);
        for (int i = 0; i < img.Data.Length; i++) img.Data[i] = (byte)(rng.NextInt(levels) * (255 / Math.Max(1, levels - 1)));
        return img;
    }

    // ------------------------------------------------------------------ PNG

    [Theory]
    [InlineData(1, 1)]
    [InlineData(64, 64)]
    [InlineData(17, 5)]
    public void Png_RoundTrip_IsLossless(int w, int h)
    {
        var img = RandomImage(w, h, w * 31 + h);
        var back = ImageFile.Decode(Png.Encode(img));
        Assert.Equal(w, back.Width);
        Assert.Equal(h, back.Height);
        Assert.Equal(img.Data, back.Data);
    }

    // PNGs written by an independent encoder (ffmpeg 5.1, from its 13×7 testsrc frame) in each pixel format,
    // and ffmpeg's own decoding of each to rgb24.
    private static readonly Dictionary<string, (string Png, string Rgb)> Golden = new()
    {
        ["src"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAIAAABcElBNAAAACXBIWXMAAAABAAAAAQBPJcTWAAAASklEQVR4nGNgAIP/IPz/P4j+D2WBmVBxEIckdQxgGazqoHxqqwNRZQz/3zDM/c+gDuL4Mfw/wnD0P4P/fzWG/3NA6t/+Zygn1h8AdNZ++umXm2EAAAAASUVORK5CYII=", "AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA/////wAA/3YA/+wAnf8AJ/8AAP9OAP/EAMX/AE//JgD/nAD//wDt/wB3AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////"),
        ["rgba"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAYAAADTcMcaAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAUklEQVR4nGNgYGD4D8L/QfR/IIAwwRjM+c8AhnB5kAhFmhigSvBpggrSUxOYUQbEbxj+zwVy1cFK/ID4yH+Go0AF/v//qwGl54D1vwXicvICAgDHzNmfLH0f/QAAAABJRU5ErkJggg==", "AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA/////wAA/3YA/+wAnf8AJ/8AAP9OAP/EAMX/AE//JgD/nAD//wDt/wB3AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////"),
        ["gray"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAAAAAD2G5jGAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAL0lEQVR4nGNgYPDZnCkr++jRNJ/N/xnQeZthPB/8PJ9J148unL9moreGT3oUqikA3AkqVIeflT0AAAAASUVORK5CYII=", "AAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////AAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////TExMkpKS19fXxcXFoaGhn5+frKyskZGRS0tLKCgoTExMZ2dnWlpaAAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////"),
        ["pal8"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAMAAADkrjcoAAAACXBIWXMAAAABAAAAAQBPJcTWAAADAFBMVEUAAAAkAABIAABsAACQAAC0AADYAAD8AAAAJAAkJABIJABsJACQJAC0JADYJAD8JAAASAAkSABISABsSACQSAC0SADYSAD8SAAAbAAkbABIbABsbACQbAC0bADYbAD8bAAAkAAkkABIkABskACQkAC0kADYkAD8kAAAtAAktABItABstACQtAC0tADYtAD8tAAA2AAk2ABI2ABs2ACQ2AC02ADY2AD82AAA/AAk/ABI/ABs/ACQ/AC0/ADY/AD8/AAAAFUkAFVIAFVsAFWQAFW0AFXYAFX8AFUAJFUkJFVIJFVsJFWQJFW0JFXYJFX8JFUASFUkSFVISFVsSFWQSFW0SFXYSFX8SFUAbFUkbFVIbFVsbFWQbFW0bFXYbFX8bFUAkFUkkFVIkFVskFWQkFW0kFXYkFX8kFUAtFUktFVItFVstFWQtFW0tFXYtFX8tFUA2FUk2FVI2FVs2FWQ2FW02FXY2FX82FUA/FUk/FVI/FVs/FWQ/FW0/FXY/FX8/FUAAKokAKpIAKpsAKqQAKq0AKrYAKr8AKoAJKokJKpIJKpsJKqQJKq0JKrYJKr8JKoASKokSKpISKpsSKqQSKq0SKrYSKr8SKoAbKokbKpIbKpsbKqQbKq0bKrYbKr8bKoAkKokkKpIkKpskKqQkKq0kKrYkKr8kKoAtKoktKpItKpstKqQtKq0tKrYtKr8tKoA2Kok2KpI2Kps2KqQ2Kq02KrY2Kr82KoA/Kok/KpI/Kps/KqQ/Kq0/KrY/Kr8/KoAAP8kAP9IAP9sAP+QAP+0AP/YAP/8AP8AJP8kJP9IJP9sJP+QJP+0JP/YJP/8JP8ASP8kSP9ISP9sSP+QSP+0SP/YSP/8SP8AbP8kbP9IbP9sbP+QbP+0bP/YbP/8bP8AkP8kkP9IkP9skP+QkP+0kP/YkP/8kP8AtP8ktP9ItP9stP+QtP+0tP/YtP/8tP8A2P8k2P9I2P9s2P+Q2P+02P/Y2P/82P8A/P8k/P9I/P9s/P+Q/P+0/P/Y/P/8/P+BTFLuAAAAL0lEQVR4nGNgYGD/cfzAAXt7C/Yf/xnQeT9gPHb8PHZ5e1vLih8fLhw8etwd1RQA9Z0qfJaCcrwAAAAASUVORK5CYII=", "AAAAAAAA/AAAAPz//AD/AAD/AAD//PwA/PwAAPwA/AAAAPz//Pz/AAAAAAAA/AAAAPz//AD/AAD/AAD//PwA/PwAAPwA/AAAAPz//Pz/AAAAAAAAAPz/APz//AD/AAD/AAD//PwA/PwAAPwA/AAA/AAA/Pz/AAAAAAAAAPz/APz//AD/AAD/AAD//PwA/PwAAPwA/AAA/AAA/Pz/AAAAAAAAAPz/APz//AD/AAD/AAD//PwA/PwAAPwA/AAA/AAA/Pz//AAA/GwA/PwAtPwAJPwAAPxVAPz/ANj/AEj/JAD/tAD//AD//ABVAAAAAAAA/AAAAPz//AD/AAD/AAD//PwA/PwAAPwA/AAAAPz//Pz/"),
        ["rgb48be"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHEAIAAAAMgowOAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAhklEQVR4nGNgQAL/mRnYQfS/3/8V/4sD6XsM8kBRRgj578l/fgYmCAnkczAooKhnBkEGGhoHkSDVOBg5BIyDcP59LuMBki/f8DEwzLn/n4eBW+3+f24GCaAyNj9ZIMlwRJqB7cif/5IMYn7f//OoyQBV/5oDIt8AxRjePPzPy8BQdo/KUQEA3xeq55O2LNoAAAAASUVORK5CYII=", "AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA////AAAAAAAAAP//AP///wD/AAD/AAD///8A//8AAP8A/wAA/wAA/////wAA/3YA/+wAnf8AJ/8AAP9OAP/EAMX/AE//JgD/nAD//wDt/wB3AAAAAAAA/wAAAP///wD/AAD/AAD///8A//8AAP8A/wAAAP//////"),
        ["gray16be"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHEAAAAACmi0SFAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAS0lEQVR4nGNgYGRg9HHYtD/TV1ZEVuTh64evp64B8f/9ZSAgtWk/upSPA9lSPg4Tm64dOTJnYdi8SWuYJ2z1LtbI896S7hJ5Fo8zABjHVEm6XrpsAAAAAElFTkSuQmCC", "AAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////AAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////TExMkpKS19fXxcXFoaGhn5+frKyskZGRS0tLKCgoTExMZ2dnWlpaAAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////"),
        ["monob"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHAQAAAAD7C/q3AAAACXBIWXMAAAABAAAAAQBPJcTWAAAAHUlEQVR4nGMw3M8gep/B8jyDYDyDYT9DaCiD5HwAPLwFfwUwBkgAAAAASUVORK5CYII=", "AAAAAAAA////////AAAAAAAAAAAA////////AAAA////////////AAAAAAAAAAAA////AAAA////AAAA////////////AAAA////////AAAAAAAA////////////AAAAAAAA////////////AAAAAAAA////AAAAAAAAAAAA////AAAAAAAAAAAA////AAAA////AAAA////////AAAAAAAA////////AAAAAAAAAAAA////////AAAAAAAAAAAA////AAAA////AAAA////AAAA////AAAA////AAAA////AAAA////AAAAAAAAAAAAAAAA////////AAAAAAAA////////AAAAAAAA////////"),
        ["ya8"] = ("iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAQAAAB5eQ+RAAAACXBIWXMAAAABAAAAAQBPJcTWAAAARElEQVR4nGNg+M/w3+f/5v+Z/2WB8BEQTgPz//9nICC1GUPKh3wpn/+T/l//f/T/wv/z/6/5P/G/938NoET6/yh8zgAAhKCE+cmIq5EAAAAASUVORK5CYII=", "AAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////AAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////AAAAAAAAs7Ozs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMTExM////TExMkpKS19fXxcXFoaGhn5+frKyskZGRS0tLKCgoTExMZ2dnWlpaAAAAAAAATExMs7OzaWlpHR0dHR0d4uLi4uLilpaWTExMs7Oz////"),
    };

    [Theory]
    [InlineData("src")]      // 8-bit RGB
    [InlineData("rgba")]     // 8-bit RGBA
    [InlineData("gray")]     // 8-bit grey
    [InlineData("ya8")]      // grey + alpha
    [InlineData("pal8")]     // palette
    [InlineData("monob")]    // 1-bit grey
    [InlineData("rgb48be")]  // 16-bit RGB
    [InlineData("gray16be")] // 16-bit grey
    public void Png_Decode_MatchesFfmpegGolden(string format)
    {
        var (png, rgb) = Golden[format];
        var img = ImageFile.Decode(Convert.FromBase64String(png));
        var want = Convert.FromBase64String(rgb);
        Assert.Equal((13, 7), (img.Width, img.Height));
        Assert.Equal(want.Length, img.Data.Length);
        // 16-bit samples: Skia and ffmpeg each reduce them to 8 bits their own way; they may differ by one.
        int tolerance = format.Contains("16") || format.Contains("48") ? 1 : 0;
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - img.Data[i]) <= tolerance, $"{format}: byte {i}: {img.Data[i]} vs ffmpeg {want[i]}");
    }

    [Fact]
    public void Png_Decode_Adam7Interlaced_MatchesPlain()
    {
        var img = RandomImage(11, 9, 5);
        var back = ImageFile.Decode(InterlacedPng(img));
        Assert.Equal(img.Data, back.Data);
    }

    [Fact]
    public void Png_Decode_PaletteAt2Bits()
    {
        // 5×2 image, palette of 4 colours, 2 bits per pixel: rows pack 4 pixels per byte, MSB first.
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        int[] idx = [0, 1, 2, 3, 0, 3, 2, 1, 0, 3];
        var raw = new List<byte>();
        for (int y = 0; y < 2; y++)
        {
            raw.Add(0);
            byte b0 = 0, b1 = 0;
            for (int x = 0; x < 5; x++)
            {
                int v = idx[y * 5 + x];
                if (x < 4) b0 |= (byte)(v << (6 - 2 * x)); else b1 |= (byte)(v << 6);
            }
            raw.Add(b0); raw.Add(b1);
        }
        var img = ImageFile.Decode(BuildPng(5, 2, 2, 3, 0, raw.ToArray(), palette));
        for (int i = 0; i < 10; i++)
        {
            var (r, g, b) = img.GetPixel(i % 5, i / 5);
            Assert.Equal((palette[idx[i] * 3], palette[idx[i] * 3 + 1], palette[idx[i] * 3 + 2]), (r, g, b));
        }
    }

    [Fact]
    public void Png_Decode_CorruptData_ThrowsClearErrors()
    {
        var good = Png.Encode(RandomImage(8, 8, 1));
        var e1 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode("\x89PNG-but-not-quite"u8.ToArray()));
        Assert.Contains("not an image", e1.Message);

        // A flipped byte inside IDAT (after the 8-byte signature and the 25-byte IHDR chunk): libpng checks the CRC.
        var flipped = (byte[])good.Clone();
        flipped[40] ^= 0x55;
        var e2 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(flipped));
        Assert.Contains("PNG", e2.Message);

        // Cut inside the pixel data. (A cut that loses only the end chunk and the checksums still decodes: every
        // row is there, and libpng does not need the rest.)
        var e3 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(good.AsSpan(0, good.Length / 2)));
        Assert.Contains("PNG", e3.Message);

        // Valid chunks whose compressed payload is garbage.
        var e4 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(BuildPng(4, 4, 8, 2, 0, [1, 2, 3, 4, 5, 6, 7, 8], null, compress: false)));
        Assert.Contains("corrupt", e4.Message);

        // An illegal header combination (4-bit RGB).
        var e5 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(BuildPng(4, 4, 4, 2, 0, new byte[4 * 7], null)));
        Assert.Contains("corrupt PNG", e5.Message);
    }

    [Fact]
    public void Png_Encode_WritesPlainRgb()
    {
        // 8-bit RGB (colour type 2), not interlaced: what every viewer reads and what the old encoder wrote.
        var png = Png.Encode(RandomImage(5, 3, 2));
        Assert.Equal(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }, png[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal((5, 3), (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));
        Assert.Equal((8, 2, 0), (png[24], png[25], png[28]));
    }

    /// <summary>The PNG with its header changed to claim <paramref name="w"/>×<paramref name="h"/>, its CRC made right again.</summary>
    internal static byte[] WithPngSize(byte[] png, int w, int h)
    {
        var b = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16), w);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(20), h);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), BitwiseCrc(b.AsSpan(12, 17)));
        return b;
    }

    private static byte[] BuildPng(int w, int h, int depth, int colorType, int interlace, byte[] raw, byte[]? palette, bool compress = true)
    {
        using var ms = new MemoryStream();
        ms.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = (byte)depth; ihdr[9] = (byte)colorType; ihdr[12] = (byte)interlace;
        Chunk(ms, "IHDR", ihdr);
        if (palette != null) Chunk(ms, "PLTE", palette);
        byte[] data = raw;
        if (compress)
        {
            using var z = new MemoryStream();
            using (var zs = new ZLibStream(z, CompressionLevel.Fastest, true)) zs.Write(raw);
            data = z.ToArray();
        }
        Chunk(ms, "IDAT", data);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var buf = new byte[8 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, 0, 4, buf, 4);
        data.CopyTo(buf, 8);
        s.Write(buf);
        var crcIn = buf.AsSpan(4);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, BitwiseCrc(crcIn));
        s.Write(crc);
    }

    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    private static byte[] InterlacedPng(Image img)
    {
        (int, int, int, int)[] passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
        var raw = new List<byte>();
        foreach (var (x0, y0, dx, dy) in passes)
        {
            var xs = Enumerable.Range(0, img.Width).Where(x => x >= x0 && (x - x0) % dx == 0).ToList();
            var ys = Enumerable.Range(0, img.Height).Where(y => y >= y0 && (y - y0) % dy == 0).ToList();
            if (xs.Count == 0 || ys.Count == 0) continue;
            foreach (var y in ys)
            {
                raw.Add(0);
                foreach (var x in xs) { var (r, g, b) = img.GetPixel(x, y); raw.Add(r); raw.Add(g); raw.Add(b); }
            }
        }
        return BuildPng(img.Width, img.Height, 8, 2, 1, raw.ToArray(), null);
    }

    // ------------------------------------------------------------------ resize

    [Fact]
    public void Resize_Area_HalvingAveragesBlocks()
    {
        var img = RandomImage(8, 6, 3);
        var half = Resize.Area(img, 4, 3);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0;
                    for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++) sum += img.Data[((2 * y + dy) * 8 + 2 * x + dx) * 3 + c];
                    Assert.InRange(half.Data[(y * 4 + x) * 3 + c], sum / 4.0 - 0.51, sum / 4.0 + 0.51);
                }
    }

    [Fact]
    public void Resize_Bilinear_SameSizeIsIdentity_AndConstantStaysConstant()
    {
        var img = RandomImage(9, 7, 4);
        Assert.Equal(img.Data, Resize.Bilinear(img, 9, 7).Data);
        var flat = new Image(10, 10);
        flat.Fill(12, 200, 77);
        foreach (var r in new[] { Resize.Bilinear(flat, 23, 5), Resize.Area(flat, 3, 7), Resize.Area(flat, 31, 17) })
            for (int i = 0; i < r.Data.Length; i += 3) Assert.Equal((12, 200, 77), (r.Data[i], r.Data[i + 1], r.Data[i + 2]));
    }

    [Fact]
    public void Resize_Area_DoesNotAlias()
    {
        // A one-pixel checkerboard shrunk by a non-integer factor is grey everywhere: every source pixel contributes.
        // (Sampling without averaging, as Bilinear does, leaves stripes of nearly black and white.) Skia's mipmaps pass
        // this too, but not an uneven shrink (30×10 to 3×3 bleeds a third of the way across); see Resize.
        var board = new Image(300, 300);
        for (int y = 0; y < 300; y++)
            for (int x = 0; x < 300; x++)
                if (((x + y) & 1) == 1) board.SetPixel(x, y, 255, 255, 255);
        var small = Resize.Area(board, 64, 64);
        Assert.All(small.Data, v => Assert.InRange(v, 120, 135));
    }

    [Fact]
    public void Resize_Bilinear_InterpolatesBetweenPixels()
    {
        // Two pixels 0 and 255 enlarged to 4: centres at 0.25, 0.75, 1.25, 1.75 in source pixels →
        // clamped, ¼, ¾, clamped.
        var img = new Image(2, 1);
        img.SetPixel(1, 0, 255, 255, 255);
        var big = Resize.Bilinear(img, 4, 1);
        Assert.Equal(new byte[] { 0, 64, 191, 255 }, Enumerable.Range(0, 4).Select(x => big.Data[x * 3]).ToArray());
    }

    // ------------------------------------------------------------------ GIF

    [Fact]
    public void Gif_FewColours_RoundTripsExactly()
    {
        var frames = Enumerable.Range(0, 3).Select(i => RandomImage(37, 23, 10 + i, levels: 4)).ToList(); // ≤ 64 colours
        var gif = GifWriter.Encode(frames, 7);
        var decoded = DecodeGif(gif, out var delays);
        Assert.Equal(3, decoded.Count);
        Assert.All(delays, d => Assert.Equal(7, d));
        for (int i = 0; i < 3; i++) Assert.Equal(frames[i].Data, decoded[i].Data);
    }

    [Fact]
    public void Gif_ManyColours_LzwTableResetsAndPaletteIsClose()
    {
        // 128×128 random colours: far more than 256 colours and more than 4096 LZW codes.
        var img = RandomImage(128, 128, 99);
        var decoded = DecodeGif(GifWriter.Encode([img]), out _).Single();
        var (palette, indices) = GifWriter.Quantize(img);
        Assert.True(palette.Count <= 256);
        // The decoded image is exactly the quantised one, and quantisation error is moderate.
        double err = 0;
        for (int i = 0; i < indices.Length; i++)
        {
            int p = palette[indices[i]];
            Assert.Equal((byte)(p >> 16), decoded.Data[3 * i]);
            Assert.Equal((byte)(p >> 8), decoded.Data[3 * i + 1]);
            Assert.Equal((byte)p, decoded.Data[3 * i + 2]);
            for (int c = 0; c < 3; c++) err += Math.Abs(img.Data[3 * i + c] - decoded.Data[3 * i + c]);
        }
        Assert.InRange(err / img.Data.Length, 0, 30); // uniform noise over the full cube: ~20 per channel
    }

    /// <summary>A minimal GIF decoder (full frames, local colour tables) used as the test oracle.</summary>
    private static List<Image> DecodeGif(byte[] gif, out List<int> delays)
    {
        Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(gif, 0, 6));
        int w = gif[6] | gif[7] << 8, h = gif[8] | gif[9] << 8;
        Assert.Equal(0, gif[10] & 0x80);
        int p = 13;
        var frames = new List<Image>();
        delays = new List<int>();
        while (true)
        {
            byte b = gif[p++];
            if (b == 0x3B) break;
            if (b == 0x21)
            {
                byte label = gif[p++];
                if (label == 0xF9) delays.Add(gif[p + 2] | gif[p + 3] << 8);
                while (gif[p] != 0) p += gif[p] + 1;
                p++;
                continue;
            }
            Assert.Equal(0x2C, b);
            int fw = gif[p + 4] | gif[p + 5] << 8, fh = gif[p + 6] | gif[p + 7] << 8, packed = gif[p + 8];
            Assert.Equal((w, h), (fw, fh));
            p += 9;
            int tableSize = 2 << (packed & 7);
            var table = gif.AsSpan(p, 3 * tableSize).ToArray();
            p += 3 * tableSize;
            int minCode = gif[p++];
            var data = new List<byte>();
            while (gif[p] != 0) { data.AddRange(gif.AsSpan(p + 1, gif[p]).ToArray()); p += gif[p] + 1; }
            p++;
            var idx = LzwDecode(data.ToArray(), minCode, w * h);
            var img = new Image(w, h);
            for (int i = 0; i < w * h; i++) { img.Data[3 * i] = table[3 * idx[i]]; img.Data[3 * i + 1] = table[3 * idx[i] + 1]; img.Data[3 * i + 2] = table[3 * idx[i] + 2]; }
            frames.Add(img);
        }
        return frames;
    }

    private static List<int> LzwDecode(byte[] data, int minCode, int count)
    {
        int clear = 1 << minCode, eoi = clear + 1, size = minCode + 1, next = eoi + 1;
        var dict = new List<List<int>>();
        void Reset() { dict.Clear(); for (int i = 0; i < clear + 2; i++) dict.Add([i]); size = minCode + 1; next = eoi + 1; }
        Reset();
        var output = new List<int>();
        int bitPos = 0, prev = -1;
        while (true)
        {
            int code = 0;
            for (int i = 0; i < size; i++, bitPos++) code |= ((data[bitPos >> 3] >> (bitPos & 7)) & 1) << i;
            if (code == clear) { Reset(); prev = -1; continue; }
            if (code == eoi) break;
            List<int> entry;
            if (prev < 0) entry = dict[code];
            else
            {
                entry = code < dict.Count ? dict[code] : [.. dict[prev], dict[prev][0]];
                if (dict.Count < 4096) { dict.Add([.. dict[prev], entry[0]]); next++; }
                if (next == (1 << size) && size < 12) size++;
            }
            output.AddRange(entry);
            prev = code;
        }
        Assert.Equal(count, output.Count);
        return output;
    }
}
