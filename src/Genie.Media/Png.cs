using Genie.Core.IO;
using SkiaSharp;

namespace Genie.Media;

/// <summary>
/// PNG writing for <see cref="Image"/> through SkiaSharp (libpng): 8-bit RGB, non-interlaced, no colour profile.
/// Reading any image, PNG included, is <see cref="ImageFile.Decode"/>.
/// </summary>
public static class Png
{
    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void Save(Image image, string path)
    {
        byte[] png = Encode(image);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>The PNG bytes of <paramref name="image"/>.</summary>
    public static byte[] Encode(Image image)
    {
        byte[] rgba = Pixels.ToRgba(image);
        unsafe
        {
            fixed (byte* p = rgba)
            {
                using var pixmap = new SKPixmap(Pixels.OpaqueRgba(image.Width, image.Height), (IntPtr)p, image.Width * 4);
                // libpng's default filter choice and zlib level 6: what most encoders write.
                using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6))
                    ?? throw new InvalidOperationException($"SkiaSharp could not encode a {image.Width}×{image.Height} PNG");
                return data.ToArray();
            }
        }
    }
}
