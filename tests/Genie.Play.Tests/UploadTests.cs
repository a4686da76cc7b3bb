using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net.Http.Headers;
using Genie.Core;
using Genie.Media;
using Genie.Media.Tests;
using SkiaSharp;

namespace Genie.Play.Tests;

/// <summary>Uploads: a PNG, JPEG, WebP, GIF or BMP of any size works; anything else is a clear 4xx and the server stays up.</summary>
public sealed class UploadTests : IAsyncLifetime
{
    private PlayHost _host = null!;
    public async Task InitializeAsync() => _host = await PlayHost.StartAsync(new PlayOptions { MaxUploadBytes = 2 * 1024 * 1024, MaxImagePixels = 4_000_000 });
    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ByteArrayContent Bytes(byte[] data, string type = "application/octet-stream")
    {
        var c = new ByteArrayContent(data);
        c.Headers.ContentType = new MediaTypeHeaderValue(type);
        return c;
    }

    private static Image Gradient(int w, int h)
    {
        var img = new Image(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img.SetPixel(x, y, (byte)(255 * x / w), (byte)(255 * y / h), 90);
        return img;
    }

    [Theory]
    [InlineData(300, 120)]
    [InlineData(7, 5)]
    [InlineData(16, 16)]
    public async Task PngOfAnySize_StartsASession(int w, int h)
    {
        var (status, s) = await _host.PostAsync("/api/sessions?mode=genie&seed=1", Bytes(Png.Encode(Gradient(w, h)), "image/png"));
        Assert.True(status == 201, $"status {status}: {s}");
        Assert.Equal(16 * 16 * 3, PlayHost.FramePixels(s).Length);
        string id = s.GetProperty("id").GetString()!;
        await _host.StepAsync(id, 1);
        await _host.Http.DeleteAsync($"/api/sessions/{id}");
    }

    [Fact]
    public async Task Jpeg_AsRawBodyOrMultipartForm_StartsASession()
    {
        var jpeg = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "photo.jpg"));
        var (status, s) = await _host.PostAsync("/api/sessions?mode=genie&fit=letterbox", Bytes(jpeg, "image/jpeg"));
        Assert.True(status == 201, $"status {status}: {s}");
        await _host.Http.DeleteAsync($"/api/sessions/{s.GetProperty("id").GetString()}");

        using var form = new MultipartFormDataContent { { Bytes(jpeg, "image/jpeg"), "image", "photo.jpg" } };
        var (status2, s2) = await _host.PostAsync("/api/sessions?mode=genie", form);
        Assert.True(status2 == 201, $"status {status2}: {s2}");
        await _host.Http.DeleteAsync($"/api/sessions/{s2.GetProperty("id").GetString()}");
    }

    [Fact]
    public async Task WebPAndGif_StartASession()
    {
        var img = Gradient(40, 30);
        using var bmp = new SKBitmap(new SKImageInfo(40, 30, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 40; x++)
            {
                var (r, g, b) = img.GetPixel(x, y);
                bmp.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var webp = bmp.Encode(SKEncodedImageFormat.Webp, 90);
        var gif = GifWriter.Encode([img, Gradient(40, 30)]);
        foreach (var (data, type) in new[] { (webp.ToArray(), "image/webp"), (gif, "image/gif") })
        {
            var (status, s) = await _host.PostAsync("/api/sessions?mode=genie", Bytes(data, type));
            Assert.True(status == 201, $"{type}: status {status}: {s}");
            await _host.Http.DeleteAsync($"/api/sessions/{s.GetProperty("id").GetString()}");
        }
    }

    [Fact]
    public async Task BadUploads_AreClear4xx_AndTheServerStaysUp()
    {
        var png = Png.Encode(Gradient(20, 10));
        // A PNG whose header claims 60000 × 60000 pixels (the rest is the small image's data), its CRC made right.
        var hugePng = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(hugePng.AsSpan(16), 60000);
        BinaryPrimitives.WriteInt32BigEndian(hugePng.AsSpan(20), 60000);
        BinaryPrimitives.WriteUInt32BigEndian(hugePng.AsSpan(29), Crc32.HashToUInt32(hugePng.AsSpan(12, 17)));
        // A JPEG frame header claiming 65000 × 65000.
        var jpeg = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "photo.jpg"));
        var hugeJpeg = (byte[])jpeg.Clone();
        int sof = Enumerable.Range(0, jpeg.Length - 1).First(i => jpeg[i] == 0xFF && jpeg[i + 1] is 0xC0 or 0xC2);
        hugeJpeg[sof + 5] = 0xFD; hugeJpeg[sof + 6] = 0xE8; hugeJpeg[sof + 7] = 0xFD; hugeJpeg[sof + 8] = 0xE8;
        var random = new byte[5000];
        new Rng(3).NextInt(1);
        for (int i = 0; i < random.Length; i++) random[i] = (byte)(i * 37 + 11);

        var cases = new (string Name, byte[] Data, string Type, int Status, string Says)[]
        {
            ("text", "this is not an image"u8.ToArray(), "text/plain", 400, "PNG, JPEG"),
            ("zero bytes", [], "image/png", 400, "empty"),
            ("zero bytes, octet-stream", [], "application/octet-stream", 400, "empty"),
            ("random bytes", random, "application/octet-stream", 400, "PNG, JPEG"),
            ("huge PNG dimensions", hugePng, "image/png", 400, "60000×60000"),
            ("huge JPEG dimensions", hugeJpeg, "image/jpeg", 400, "65000×65000"),
            ("truncated PNG", png[..(png.Length / 2)], "image/png", 400, "PNG"),
            ("truncated JPEG header", jpeg[..40], "image/jpeg", 400, "JPEG"),
            ("truncated JPEG data", jpeg[..(jpeg.Length * 2 / 3)], "image/jpeg", 400, "truncated"),
            ("JPEG cut just before its end marker", jpeg[..^2], "image/jpeg", 400, "truncated"),
            ("GIF without a picture", "GIF89a\x10\0\x10\0\0\0\0;"u8.ToArray(), "image/gif", 400, "GIF"),
            ("TIFF", "II*\0\x08\0\0\0\0\0"u8.ToArray(), "image/tiff", 400, "not supported"),
            ("over the size limit", new byte[3 * 1024 * 1024], "application/octet-stream", 413, "limit"),
        };
        foreach (var (name, data, type, want, says) in cases)
        {
            var (status, body) = await _host.PostAsync("/api/sessions?mode=genie", Bytes(data, type));
            Assert.True(status == want, $"{name}: status {status}, want {want}: {body}");
            var message = body.GetProperty("error").GetString()!;
            Assert.True(message.Contains(says), $"{name}: '{message}' does not mention '{says}'");
            await _host.AssertAliveAsync();
        }
        Assert.Equal(0, _host.Server.Sessions.Count);
    }

    [Fact]
    public async Task MalformedImages_AreClear400s_AndTheServerStaysUp()
    {
        // Valid PNG, JPEG and WebP files (made by the test), cut short at 40 lengths and with bytes flipped in 60 ways
        // each. A cut file is a JSON 400. A file with flipped bytes is a JSON 400 or, where the format has no checksum
        // and the flip only changed pixels, a session; never a 5xx, a dropped connection or a hang.
        var counts = new Dictionary<int, int>();
        foreach (var (kind, good) in MalformedFiles.ValidFiles())
            foreach (var (name, data, cut) in MalformedFiles.Variants(kind, good))
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var (status, body) = await _host.PostAsync("/api/sessions?mode=genie", Bytes(data, "application/octet-stream"));
                Assert.True(clock.ElapsedMilliseconds < 5000, $"{name}: took {clock.ElapsedMilliseconds} ms");
                counts[status] = counts.GetValueOrDefault(status) + 1;
                if (status == 201 && !cut)
                {
                    await _host.Http.DeleteAsync($"/api/sessions/{body.GetProperty("id").GetString()}");
                    continue;
                }
                Assert.True(status == 400, $"{name}: status {status}: {body}");
                Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("error").GetString()), name);
            }
        await _host.AssertAliveAsync();
        Assert.Equal(0, _host.Server.Sessions.Count);
        Assert.True(counts[400] >= 4 * 40, string.Join(", ", counts.Select(kv => $"{kv.Value}× {kv.Key}")));
    }
}
