using System.Buffers.Binary;
using SkiaSharp;

namespace Genie.Media;

/// <summary>Image file formats that <see cref="ImageFile"/> recognises by their signature.</summary>
public enum ImageFormat
{
    /// <summary>Not a recognised image.</summary>
    Unknown,
    /// <summary>PNG.</summary>
    Png,
    /// <summary>JPEG (JFIF/EXIF).</summary>
    Jpeg,
    /// <summary>GIF (the first frame is decoded).</summary>
    Gif,
    /// <summary>BMP.</summary>
    Bmp,
    /// <summary>WebP (the first frame of an animated one).</summary>
    WebP,
    /// <summary>TIFF (recognised, not decoded).</summary>
    Tiff,
    /// <summary>HEIF/HEIC/AVIF (recognised, not decoded).</summary>
    Heif,
}

/// <summary>
/// Decodes an image file of unknown kind from its bytes: PNG, JPEG, WebP, GIF (first frame) or BMP, found by
/// signature and decoded by SkiaSharp (libpng, libjpeg-turbo, libwebp underneath). The size is read from the header
/// and checked against a pixel limit before any pixels are decoded, so a small file that claims enormous dimensions is
/// refused cheaply. Every failure is an <see cref="InvalidDataException"/> whose message says what is wrong.
/// </summary>
public static class ImageFile
{
    /// <summary>The default limit on an image's pixels (width × height), checked before decoding.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>The default limit on an image's longer side, checked before decoding.</summary>
    public const int DefaultMaxSide = 65535;

    /// <summary>
    /// The most scans a JPEG may have. A progressive decoder walks every block once per scan, so a small hostile file
    /// repeating tiny scans costs minutes of CPU; real files have at most a few dozen.
    /// </summary>
    public const int MaxJpegScans = 500;

    /// <summary>The formats this class decodes, in words, for messages.</summary>
    public const string Readable = "PNG, JPEG, WebP, GIF or BMP";

    /// <summary>The format, by the file's signature.</summary>
    public static ImageFormat Detect(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 8 && data[..8].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A })) return ImageFormat.Png;
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat.Jpeg;
        if (data.Length >= 6 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8))) return ImageFormat.Gif;
        if (data.Length >= 2 && data[0] == 'B' && data[1] == 'M') return ImageFormat.Bmp;
        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8)) return ImageFormat.WebP;
        if (data.Length >= 4 && (data[..4].SequenceEqual("II*\0"u8) || data[..4].SequenceEqual("MM\0*"u8))) return ImageFormat.Tiff;
        if (data.Length >= 12 && data.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            var brand = data.Slice(8, 4);
            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8) ||
                brand.SequenceEqual("avif"u8) || brand.SequenceEqual("msf1"u8) || brand.SequenceEqual("hevc"u8))
                return ImageFormat.Heif;
        }
        return ImageFormat.Unknown;
    }

    /// <summary>
    /// Format and size (as displayed, i.e. after the EXIF orientation) from the header alone. Throws
    /// <see cref="InvalidDataException"/> for empty input, an unrecognised or unsupported format, or a corrupt header.
    /// </summary>
    public static (ImageFormat Format, int Width, int Height) ReadHeader(ReadOnlySpan<byte> data)
    {
        var format = CheckFormat(data);
        using var skData = SKData.CreateCopy(data);
        using var codec = OpenCodec(skData, format);
        var (w, h) = DisplayedSize(codec);
        return (format, w, h);
    }

    /// <summary>
    /// Decodes the image to RGB24, upright per its EXIF orientation, colours converted to sRGB, alpha dropped (the
    /// stored colour of each pixel is kept). Refuses images with more than <paramref name="maxPixels"/> pixels or a
    /// side longer than <paramref name="maxSide"/> from the header, before any pixel is decoded.
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, long maxPixels = DefaultMaxPixels, int maxSide = DefaultMaxSide)
    {
        var format = CheckFormat(data);
        if (format == ImageFormat.Jpeg)
        {
            // Checked here because libjpeg does neither: it decodes a progressive file cut short into a blurrier picture
            // without complaint, and it walks every scan however many there are.
            var (scans, ended) = WalkJpeg(data);
            if (scans > MaxJpegScans) throw new InvalidDataException($"corrupt JPEG: {scans} scans (a real image has at most a few dozen; the limit is {MaxJpegScans})");
            if (!ended) throw new InvalidDataException("the JPEG image is truncated: the file stops before its end marker");
        }
        using var skData = SKData.CreateCopy(data);
        using var codec = OpenCodec(skData, format);
        var (dw, dh) = DisplayedSize(codec);
        if ((long)dw * dh > maxPixels || dw > maxSide || dh > maxSide)
            throw new InvalidDataException($"the image is {dw}×{dh} ({(long)dw * dh / 1e6:0.#} megapixels); the limit is {maxPixels / 1e6:0.#} megapixels and {maxSide} pixels a side");

        int w = codec.Info.Width, h = codec.Info.Height;
        var alpha = codec.Info.AlphaType == SKAlphaType.Opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul;
        using var srgb = SKColorSpace.CreateSrgb();
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, alpha, srgb);
        var rgba = new byte[(long)w * h * 4];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba) result = codec.GetPixels(info, (IntPtr)p);
        }
        // Skia reports a file that ends early and one whose compressed data stops making sense alike (IncompleteInput).
        if (result == SKCodecResult.IncompleteInput)
            throw new InvalidDataException($"the {Name(format)} image is truncated or corrupt: its pixels stop before the last row");
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"the {Name(format)} image is corrupt: its pixels cannot be decoded ({result})");
        return Upright(Pixels.FromRgba(w, h, rgba), (int)codec.EncodedOrigin);
    }

    /// <summary>Reads and decodes an image file (<see cref="Decode"/>); messages name the file.</summary>
    public static Image Load(string path, long maxPixels = DefaultMaxPixels)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try { return Decode(bytes, maxPixels); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>Applies an EXIF orientation (1..8) so the image shows upright; 1 and unknown values return it unchanged.</summary>
    public static Image Upright(Image src, int orientation)
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

    /// <summary>
    /// Walks the JPEG's markers: the number of scans (SOS markers) of the main image, and whether its end marker (EOI)
    /// is there. Marker segments are skipped by their lengths (so a thumbnail inside an APP1 segment is not counted)
    /// and each scan's entropy-coded data to the next marker.
    /// </summary>
    public static (int Scans, bool Ended) WalkJpeg(ReadOnlySpan<byte> jpeg)
    {
        int scans = 0, pos = 2; // after SOI
        while (pos + 1 < jpeg.Length)
        {
            if (jpeg[pos] != 0xFF) { pos++; continue; }            // stray byte between segments
            byte marker = jpeg[pos + 1];
            if (marker == 0xFF) { pos++; continue; }                // fill byte
            if (marker == 0xD9) return (scans, true);               // EOI
            if (marker is 0x00 or 0x01 or (>= 0xD0 and <= 0xD7)) { pos += 2; continue; } // no length: stuffing, TEM, RSTn
            if (pos + 4 > jpeg.Length) break;
            pos += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 2)..]);
            if (marker != 0xDA) continue;
            scans++;
            // Entropy-coded data: every 0xFF in it is followed by 0x00 (stuffing) or a restart marker.
            while (pos + 1 < jpeg.Length && !(jpeg[pos] == 0xFF && jpeg[pos + 1] != 0x00 && jpeg[pos + 1] is < 0xD0 or > 0xD7)) pos++;
        }
        return (scans, false);
    }

    private static ImageFormat CheckFormat(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) throw new InvalidDataException("the file is empty (0 bytes)");
        var format = Detect(data);
        return format switch
        {
            ImageFormat.Png or ImageFormat.Jpeg or ImageFormat.Gif or ImageFormat.Bmp or ImageFormat.WebP => format,
            ImageFormat.Unknown => throw new InvalidDataException($"not an image this program can read (expected a {Readable} file)"),
            _ => throw new InvalidDataException($"{format} images are not supported; use a {Readable} image"),
        };
    }

    private static SKCodec OpenCodec(SKData data, ImageFormat format)
    {
        // The stream reads the data without copying it; a codec that is created takes ownership of it.
        var stream = new SKMemoryStream(data);
        var codec = SKCodec.Create(stream, out var result);
        if (codec is null)
        {
            stream.Dispose();
            throw new InvalidDataException($"corrupt {Name(format)}: its header is cut short or damaged ({result})");
        }
        int w = codec.Info.Width, h = codec.Info.Height;
        if (w <= 0 || h <= 0)
        {
            codec.Dispose();
            throw new InvalidDataException($"corrupt {Name(format)}: size {w}×{h}");
        }
        return codec;
    }

    private static (int W, int H) DisplayedSize(SKCodec codec) =>
        (int)codec.EncodedOrigin >= 5 ? (codec.Info.Height, codec.Info.Width) : (codec.Info.Width, codec.Info.Height);

    private static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.Gif => "GIF",
        ImageFormat.Bmp => "BMP",
        ImageFormat.WebP => "WebP",
        _ => format.ToString(),
    };
}
