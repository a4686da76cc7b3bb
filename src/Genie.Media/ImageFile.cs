using System.Buffers.Binary;

namespace Genie.Media;

/// <summary>Image file formats that <see cref="ImageFile"/> recognises (the first two it decodes).</summary>
public enum ImageFormat
{
    /// <summary>Not a recognised image.</summary>
    Unknown,
    /// <summary>PNG.</summary>
    Png,
    /// <summary>JPEG (JFIF/EXIF).</summary>
    Jpeg,
    /// <summary>GIF (recognised, not decoded).</summary>
    Gif,
    /// <summary>BMP (recognised, not decoded).</summary>
    Bmp,
    /// <summary>WebP (recognised, not decoded).</summary>
    WebP,
    /// <summary>TIFF (recognised, not decoded).</summary>
    Tiff,
    /// <summary>HEIF/HEIC/AVIF (recognised, not decoded).</summary>
    Heif,
}

/// <summary>
/// Decodes an image file of unknown kind from its bytes: PNG or JPEG, found by signature. The size is read
/// from the header and checked against a pixel limit before any pixels are decoded, so a small file that
/// claims enormous dimensions is refused cheaply. Other formats get a message naming them.
/// </summary>
public static class ImageFile
{
    /// <summary>The format, by the file's signature.</summary>
    public static ImageFormat Detect(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 8 && data[..8].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A })) return ImageFormat.Png;
        if (Jpeg.IsJpeg(data)) return ImageFormat.Jpeg;
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
    /// Format and size (as displayed) from the header alone. Throws <see cref="InvalidDataException"/> with a
    /// clear message for empty input, an unrecognised or unsupported format, or a corrupt header.
    /// </summary>
    public static (ImageFormat Format, int Width, int Height) ReadHeader(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) throw new InvalidDataException("the file is empty (0 bytes)");
        var format = Detect(data);
        switch (format)
        {
            case ImageFormat.Png:
            {
                // Signature, then the IHDR chunk: length 13, "IHDR", width, height.
                if (data.Length < 24 || !data.Slice(12, 4).SequenceEqual("IHDR"u8)) throw new InvalidDataException("corrupt PNG: no IHDR header");
                long w = BinaryPrimitives.ReadUInt32BigEndian(data[16..]), h = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
                if (w == 0 || h == 0 || w > int.MaxValue || h > int.MaxValue) throw new InvalidDataException($"corrupt PNG: size {w}×{h}");
                return (format, (int)w, (int)h);
            }
            case ImageFormat.Jpeg:
            {
                var (w, h) = Jpeg.ReadSize(data);
                return (format, w, h);
            }
            case ImageFormat.Unknown:
                throw new InvalidDataException("not an image this program can read (expected a PNG or JPEG file)");
            default:
                throw new InvalidDataException($"{format} images are not supported; upload a PNG or JPEG");
        }
    }

    /// <summary>
    /// Decodes PNG or JPEG bytes to RGB24 (JPEG upright per its EXIF orientation). Refuses images with more than
    /// <paramref name="maxPixels"/> pixels, or a side longer than <paramref name="maxSide"/>, before decoding.
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, long maxPixels = Jpeg.DefaultMaxPixels, int maxSide = 65535)
    {
        var (format, w, h) = ReadHeader(data);
        if ((long)w * h > maxPixels || w > maxSide || h > maxSide)
            throw new InvalidDataException($"the image is {w}×{h} ({(long)w * h / 1e6:0.#} megapixels); the limit is {maxPixels / 1e6:0.#} megapixels and {maxSide} pixels a side");
        return format == ImageFormat.Png ? Png.Decode(data) : Jpeg.Decode(data, maxPixels);
    }

    /// <summary>Reads and decodes an image file (PNG or JPEG).</summary>
    public static Image Load(string path, long maxPixels = Jpeg.DefaultMaxPixels)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try { return Decode(bytes, maxPixels); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }
}
