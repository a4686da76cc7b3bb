using System.Text;
using SkiaSharp;

namespace Genie.Media.Tests;

/// <summary>
/// Decoding through <see cref="ImageFile"/> (SkiaSharp). JPEG against the fixtures: each was encoded by cjpeg (or
/// ffmpeg) and decoded by djpeg (tools/jpeg/make_fixtures.sh); Skia decodes with libjpeg-turbo too, so the two agree
/// to within a level or two (the tolerance is the one the hand-written decoder needed). Then WebP, GIF and BMP, the
/// header checks, and malformed files.
/// </summary>
public class ImageFileTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "jpeg", name);

    /// <summary>Reads a binary PPM (P6) or PGM (P5) as RGB.</summary>
    private static Image ReadPnm(string path)
    {
        var b = File.ReadAllBytes(path);
        int pos = 0;
        string Token()
        {
            while (char.IsWhiteSpace((char)b[pos])) pos++;
            int start = pos;
            while (!char.IsWhiteSpace((char)b[pos])) pos++;
            return Encoding.ASCII.GetString(b, start, pos - start);
        }
        string magic = Token();
        int w = int.Parse(Token()), h = int.Parse(Token());
        Token();
        pos++; // the single whitespace before the samples
        var img = new Image(w, h);
        for (int i = 0; i < w * h; i++)
        {
            if (magic == "P6") { img.Data[3 * i] = b[pos + 3 * i]; img.Data[3 * i + 1] = b[pos + 3 * i + 1]; img.Data[3 * i + 2] = b[pos + 3 * i + 2]; }
            else img.Data[3 * i] = img.Data[3 * i + 1] = img.Data[3 * i + 2] = b[pos + i];
        }
        return img;
    }

    private static (double Mean, int Max) Difference(Image a, Image b)
    {
        Assert.Equal((b.Width, b.Height), (a.Width, a.Height));
        long sum = 0; int max = 0;
        for (int i = 0; i < a.Data.Length; i++)
        {
            int d = Math.Abs(a.Data[i] - b.Data[i]);
            sum += d; max = Math.Max(max, d);
        }
        return (sum / (double)a.Data.Length, max);
    }

    [Theory]
    [InlineData("baseline_420")]
    [InlineData("baseline_444")]
    [InlineData("baseline_422")]
    [InlineData("baseline_440")]
    [InlineData("restart_420")]
    [InlineData("optimized_420")]
    [InlineData("progressive_420")]
    [InlineData("progressive_444")]
    [InlineData("progressive_big")]
    [InlineData("grayscale")]
    [InlineData("gray_progressive")]
    [InlineData("quality_100")]
    [InlineData("quality_5_16bit")]
    [InlineData("rgb_components")]
    [InlineData("ffmpeg_420")]
    public void Jpeg_Decode_MatchesLibjpeg(string name)
    {
        var ours = ImageFile.Load(Fixture(name + ".jpg"));
        var reference = ReadPnm(Fixture(name + ".ppm"));
        var (mean, max) = Difference(ours, reference);
        Assert.True(mean < 0.75 && max <= 12, $"{name}: mean |difference| {mean:F3}, max {max} against djpeg");
    }

    [Fact]
    public void Jpeg_Decode_4x1Chroma_IsAsFaithfulAsLibjpeg()
    {
        // For 4:1:1 libjpeg replicates chroma samples while we interpolate them, so the two decodings differ
        // at colour edges; both must be equally close to the picture that was encoded.
        var source = ReadPnm(Fixture("source.ppm"));
        var (ours, _) = Difference(ImageFile.Load(Fixture("baseline_411.jpg")), source);
        var (libjpeg, _) = Difference(ReadPnm(Fixture("baseline_411.ppm")), source);
        Assert.True(ours < libjpeg + 1.5, $"mean |difference| from the source: ours {ours:F2}, libjpeg {libjpeg:F2}");
    }

    [Fact]
    public void Jpeg_HighQuality444_IsCloseToTheSourcePicture()
    {
        // Independent of libjpeg's decoder: quality 100 without subsampling nearly reproduces the source.
        var ours = ImageFile.Load(Fixture("quality_100.jpg"));
        var (mean, _) = Difference(ours, ReadPnm(Fixture("source.ppm")));
        Assert.True(mean < 2.5, $"mean |difference| {mean:F3} from the source");
    }

    [Fact]
    public void Jpeg_ReadSize_ReadsTheHeaderOnly()
    {
        var bytes = File.ReadAllBytes(Fixture("progressive_big.jpg"));
        Assert.Equal((ImageFormat.Jpeg, 96, 72), ImageFile.ReadHeader(bytes));
        // The header alone is enough: cut the file right after the first scan header starts.
        Assert.Equal((ImageFormat.Jpeg, 96, 72), ImageFile.ReadHeader(bytes.AsSpan(0, 700)));
    }

    [Theory]
    [InlineData(1, 37, 29)]
    [InlineData(3, 37, 29)]
    [InlineData(6, 29, 37)]
    [InlineData(8, 29, 37)]
    public void Jpeg_ExifOrientation_TurnsTheImageUpright(int orientation, int w, int h)
    {
        var plain = ImageFile.Load(Fixture("baseline_444.jpg"));
        var bytes = WithExifOrientation(File.ReadAllBytes(Fixture("baseline_444.jpg")), orientation, bigEndian: orientation % 2 == 0);
        Assert.Equal((ImageFormat.Jpeg, w, h), ImageFile.ReadHeader(bytes));
        var img = ImageFile.Decode(bytes);
        Assert.Equal((w, h), (img.Width, img.Height));
        // Where the stored top-left pixel ends up.
        var (x, y) = orientation switch { 1 => (0, 0), 3 => (w - 1, h - 1), 6 => (w - 1, 0), _ => (0, h - 1) };
        Assert.Equal(plain.GetPixel(0, 0), img.GetPixel(x, y));
        Assert.Equal(plain.GetPixel(10, 3), orientation switch
        {
            1 => img.GetPixel(10, 3),
            3 => img.GetPixel(w - 1 - 10, h - 1 - 3),
            6 => img.GetPixel(w - 1 - 3, 10),
            _ => img.GetPixel(3, h - 1 - 10),
        });
    }

    /// <summary>Inserts an APP1 Exif segment with one IFD0 entry (Orientation) right after SOI.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, int orientation, bool bigEndian)
    {
        var tiff = new List<byte>();
        void U16(int v) { if (bigEndian) { tiff.Add((byte)(v >> 8)); tiff.Add((byte)v); } else { tiff.Add((byte)v); tiff.Add((byte)(v >> 8)); } }
        void U32(int v) { if (bigEndian) { U16(v >> 16); U16(v & 0xFFFF); } else { U16(v & 0xFFFF); U16(v >> 16); } }
        tiff.AddRange(bigEndian ? "MM"u8.ToArray() : "II"u8.ToArray());
        U16(42); U32(8);
        U16(1);                                    // one entry
        U16(0x0112); U16(3); U32(1); U16(orientation); U16(0);
        U32(0);                                    // no next IFD
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int len = payload.Length + 2;
        return jpeg.Take(2).Concat(new byte[] { 0xFF, 0xE1, (byte)(len >> 8), (byte)len }).Concat(payload).Concat(jpeg.Skip(2)).ToArray();
    }

    [Fact]
    public void Jpeg_ArithmeticCoded_Decodes()
    {
        // The hand-written decoder refused arithmetic coding; libjpeg-turbo decodes it. Only the entropy coding differs
        // from baseline_420 (same quality, same 2×2 chroma), so the pixels are djpeg's pixels of that file.
        var (mean, max) = Difference(ImageFile.Load(Fixture("arithmetic.jpg")), ReadPnm(Fixture("baseline_420.ppm")));
        Assert.True(mean < 0.75 && max <= 12, $"mean |difference| {mean:F3}, max {max} against djpeg's baseline_420");
    }

    [Fact]
    public void Jpeg_CorruptFiles_GiveClearErrors()
    {
        var e2 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode("not a jpeg at all"u8.ToArray()));
        Assert.Contains("not an image", e2.Message);
        var good = File.ReadAllBytes(Fixture("baseline_420.jpg"));
        var e3 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(good.AsSpan(0, 100)));
        Assert.Contains("JPEG", e3.Message);
        var e4 = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(good.AsSpan(0, good.Length / 2)));
        Assert.Contains("truncated", e4.Message);
        // A progressive file cut short: libjpeg would show the scans it has, a blurrier picture; it is refused.
        var progressive = File.ReadAllBytes(Fixture("progressive_big.jpg"));
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ImageFile.Decode(progressive.AsSpan(0, progressive.Length * 2 / 3))).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ImageFile.Decode(good.AsSpan(0, good.Length - 2))).Message);
        // A damaged Huffman table is refused or decoded into some picture, never crashed on.
        for (int cut = 150; cut < good.Length; cut += 97)
        {
            var damaged = (byte[])good.Clone();
            for (int i = cut; i < Math.Min(good.Length - 2, cut + 40); i++) damaged[i] ^= 0x5A;
            try { ImageFile.Decode(damaged); } catch (InvalidDataException) { }
        }
    }

    [Fact]
    public void Jpeg_EnormousDimensions_AreRefusedFromTheHeader()
    {
        // Patch the frame header of a small file to claim 60000 × 60000 pixels.
        var bytes = File.ReadAllBytes(Fixture("baseline_420.jpg"));
        int sof = Enumerable.Range(0, bytes.Length - 1).First(i => bytes[i] == 0xFF && bytes[i + 1] == 0xC0);
        bytes[sof + 5] = 0xEA; bytes[sof + 6] = 0x60; bytes[sof + 7] = 0xEA; bytes[sof + 8] = 0x60;
        Assert.Equal((ImageFormat.Jpeg, 60000, 60000), ImageFile.ReadHeader(bytes));
        var e = Assert.Throws<InvalidDataException>(() => ImageFile.Decode(bytes, maxPixels: 50_000_000));
        Assert.Contains("60000×60000", e.Message);
    }

    [Fact]
    public void Jpeg_ThousandsOfScans_AreRefused()
    {
        // A hostile file repeats its scan: each repetition would walk every block again.
        var good = File.ReadAllBytes(Fixture("baseline_420.jpg"));
        int sos = Enumerable.Range(0, good.Length - 1).First(i => good[i] == 0xFF && good[i + 1] == 0xDA);
        var scan = good[sos..^2];                                   // SOS segment + entropy-coded data, without EOI
        var hostile = good[..sos].Concat(Enumerable.Repeat(scan, ImageFile.MaxJpegScans + 1).SelectMany(x => x)).Concat(new byte[] { 0xFF, 0xD9 }).ToArray();
        Assert.Equal((ImageFile.MaxJpegScans + 1, true), ImageFile.WalkJpeg(hostile));
        Assert.Contains("scans", Assert.Throws<InvalidDataException>(() => ImageFile.Decode(hostile)).Message);
        var fine = good[..sos].Concat(Enumerable.Repeat(scan, 3).SelectMany(x => x)).Concat(new byte[] { 0xFF, 0xD9 }).ToArray();
        Assert.Equal((3, true), ImageFile.WalkJpeg(fine));
        Assert.Equal(37, ImageFile.Decode(fine).Width);
        // A progressive file's scans are all counted; a thumbnail inside an EXIF segment is skipped by its length.
        Assert.InRange(ImageFile.WalkJpeg(File.ReadAllBytes(Fixture("progressive_420.jpg"))).Scans, 5, 20);
        Assert.Equal((1, true), ImageFile.WalkJpeg(WithExifOrientation(good, 6, bigEndian: false)));
        Assert.Equal((1, false), ImageFile.WalkJpeg(good[..^2]));
    }

    // ------------------------------------------------------------------ other formats

    [Fact]
    public void WebP_LosslessAndLossy_Decode()
    {
        var img = ImagingTests.RandomImage(23, 17, 8, levels: 4);
        var lossless = MalformedFiles.SkiaEncode(img, SKEncodedImageFormat.Webp, 100);   // quality 100: libwebp's lossless mode
        Assert.Equal((ImageFormat.WebP, 23, 17), ImageFile.ReadHeader(lossless));
        Assert.Equal(img.Data, ImageFile.Decode(lossless).Data);

        var smooth = new Image(40, 30);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) smooth.SetPixel(x, y, (byte)(6 * x), (byte)(8 * y), 100);
        var lossy = ImageFile.Decode(MalformedFiles.SkiaEncode(smooth, SKEncodedImageFormat.Webp, 90));
        Assert.Equal((40, 30), (lossy.Width, lossy.Height));
        double mean = smooth.Data.Zip(lossy.Data, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(mean < 4, $"mean |difference| {mean:F2} after lossy WebP");
    }

    [Fact]
    public void Gif_FirstFrameIsDecoded()
    {
        var frames = Enumerable.Range(0, 3).Select(i => ImagingTests.RandomImage(19, 11, 40 + i, levels: 4)).ToList();
        var gif = GifWriter.Encode(frames);
        Assert.Equal((ImageFormat.Gif, 19, 11), ImageFile.ReadHeader(gif));
        Assert.Equal(frames[0].Data, ImageFile.Decode(gif).Data);
    }

    [Fact]
    public void Bmp_Decodes()
    {
        // A 24-bit bottom-up BMP written by hand: rows of BGR padded to four bytes.
        var img = ImagingTests.RandomImage(5, 3, 9);
        int stride = (5 * 3 + 3) & ~3, size = 54 + stride * 3;
        var bmp = new byte[size];
        "BM"u8.CopyTo(bmp);
        BitConverter.TryWriteBytes(bmp.AsSpan(2), size);
        BitConverter.TryWriteBytes(bmp.AsSpan(10), 54);
        BitConverter.TryWriteBytes(bmp.AsSpan(14), 40);
        BitConverter.TryWriteBytes(bmp.AsSpan(18), 5);
        BitConverter.TryWriteBytes(bmp.AsSpan(22), 3);
        BitConverter.TryWriteBytes(bmp.AsSpan(26), (short)1);
        BitConverter.TryWriteBytes(bmp.AsSpan(28), (short)24);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
            {
                var (r, g, b) = img.GetPixel(x, 2 - y);
                int o = 54 + y * stride + x * 3;
                bmp[o] = b; bmp[o + 1] = g; bmp[o + 2] = r;
            }
        Assert.Equal(img.Data, ImageFile.Decode(bmp).Data);
    }

    [Fact]
    public void ImageFile_RecognisesFormats_AndExplainsWhatItCannotRead()
    {
        var png = Png.Encode(new Image(3, 2));
        Assert.Equal((ImageFormat.Png, 3, 2), ImageFile.ReadHeader(png));
        Assert.Equal(3, ImageFile.Decode(png).Width);
        Assert.Equal(ImageFormat.Gif, ImageFile.Detect("GIF89a......"u8));
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => ImageFile.ReadHeader([])).Message);
        Assert.Contains(ImageFile.Readable, Assert.Throws<InvalidDataException>(() => ImageFile.ReadHeader("hello world"u8)).Message);
        Assert.Contains("corrupt GIF", Assert.Throws<InvalidDataException>(() => ImageFile.ReadHeader("GIF89a\x01\0\x01\0"u8)).Message);
        Assert.Contains("Tiff images are not supported", Assert.Throws<InvalidDataException>(() => ImageFile.ReadHeader("II*\0\x08\0\0\0"u8)).Message);
        Assert.Contains("Heif images are not supported", Assert.Throws<InvalidDataException>(() => ImageFile.ReadHeader("\0\0\0\u0018ftypheic\0\0\0\0"u8)).Message);
        // A PNG header claiming 100000 × 100000 (with a right CRC, as a hostile file would have).
        var huge = ImagingTests.WithPngSize(png, 100000, 100000);
        Assert.Equal((ImageFormat.Png, 100000, 100000), ImageFile.ReadHeader(huge));
        Assert.Contains("100000×100000", Assert.Throws<InvalidDataException>(() => ImageFile.Decode(huge)).Message);
        // A wrong header CRC is corruption, refused as such.
        var badCrc = (byte[])huge.Clone();
        badCrc[29] ^= 1;
        Assert.Contains("corrupt PNG", Assert.Throws<InvalidDataException>(() => ImageFile.ReadHeader(badCrc)).Message);
        // A small image over a tight side limit.
        Assert.Contains("2 pixels a side", Assert.Throws<InvalidDataException>(() => ImageFile.Decode(png, maxSide: 2)).Message);
    }
}
