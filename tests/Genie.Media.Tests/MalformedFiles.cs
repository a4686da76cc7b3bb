using Genie.Core;
using SkiaSharp;

namespace Genie.Media.Tests;

/// <summary>
/// Malformed image files for fuzz-style tests, made here from one picture: valid PNG, JPEG and WebP files, cut short
/// and with bytes flipped. Shared with the play server's upload tests (linked into Genie.Play.Tests).
/// </summary>
public static class MalformedFiles
{
    /// <summary>A picture with edges and gradients (so every format has real work to do), 61×47.</summary>
    public static Image Picture()
    {
        var img = new Image(61, 47);
        var rng = new Rng(5);
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++)
                img.SetPixel(x, y, (byte)(4 * x), (byte)(5 * y), (byte)((x / 8 + y / 8) % 2 == 0 ? 40 : 220 - rng.NextInt(30)));
        return img;
    }

    /// <summary>An image encoded by Skia's own encoders (JPEG, WebP; quality 100 WebP is lossless).</summary>
    public static byte[] SkiaEncode(Image img, SKEncodedImageFormat format, int quality)
    {
        var info = new SKImageInfo(img.Width, img.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bmp = new SKBitmap(info);
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++)
            {
                var (r, g, b) = img.GetPixel(x, y);
                bmp.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var data = bmp.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>The picture as PNG (ours), and as JPEG and lossy and lossless WebP (Skia's encoders).</summary>
    public static Dictionary<string, byte[]> ValidFiles()
    {
        var img = Picture();
        byte[] Encode(SKEncodedImageFormat f, int q) => SkiaEncode(img, f, q);
        return new()
        {
            ["png"] = Png.Encode(img),
            ["jpeg"] = Encode(SKEncodedImageFormat.Jpeg, 85),
            ["webp-lossy"] = Encode(SKEncodedImageFormat.Webp, 80),
            ["webp-lossless"] = Encode(SKEncodedImageFormat.Webp, 100),
        };
    }

    /// <summary>
    /// The malformed variants of <paramref name="good"/>: cut to 40 lengths spread over the file (from 0 bytes to
    /// all but the last few), and 60 copies each with one to four bytes flipped (seeded). Each says whether it is a cut.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Data, bool Cut)> Variants(string kind, byte[] good, int cuts = 40, int flips = 60)
    {
        for (int i = 0; i < cuts; i++)
        {
            int len = (int)((long)good.Length * i / cuts);
            yield return ($"{kind} cut to {len} of {good.Length} bytes", good[..len], true);
        }
        var rng = new Rng((ulong)kind.Length * 7919);
        for (int i = 0; i < flips; i++)
        {
            var bad = (byte[])good.Clone();
            int n = 1 + rng.NextInt(4);
            var at = new List<int>();
            for (int k = 0; k < n; k++)
            {
                // Half the flips land in the first 64 bytes, where the headers are.
                int p = rng.NextInt(2) == 0 ? rng.NextInt(Math.Min(64, bad.Length)) : rng.NextInt(bad.Length);
                bad[p] ^= (byte)(1 + rng.NextInt(255));
                at.Add(p);
            }
            yield return ($"{kind} with bytes flipped at {string.Join(",", at)}", bad, false);
        }
    }
}
