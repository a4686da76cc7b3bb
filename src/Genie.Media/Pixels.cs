using SkiaSharp;

namespace Genie.Media;

/// <summary>
/// The step between <see cref="Image"/> (RGB, 3 bytes a pixel) and Skia, which has no 3-byte pixel format: images are
/// widened to opaque RGBA for Skia and narrowed back by dropping the fourth byte.
/// </summary>
internal static class Pixels
{
    /// <summary>The image as RGBA bytes with alpha 255.</summary>
    public static byte[] ToRgba(Image image)
    {
        byte[] rgb = image.Data;
        var rgba = new byte[(long)image.Width * image.Height * 4];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i]; rgba[j + 1] = rgb[i + 1]; rgba[j + 2] = rgb[i + 2]; rgba[j + 3] = 255;
        }
        return rgba;
    }

    /// <summary>An image of the first three bytes of each RGBA pixel.</summary>
    public static Image FromRgba(int width, int height, byte[] rgba)
    {
        var img = new Image(width, height);
        byte[] rgb = img.Data;
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j]; rgb[i + 1] = rgba[j + 1]; rgb[i + 2] = rgba[j + 2];
        }
        return img;
    }

    /// <summary>The description of an opaque RGBA buffer of this size (no colour space: Skia leaves the values as they are).</summary>
    public static SKImageInfo OpaqueRgba(int width, int height) => new(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
}
