using System.Diagnostics;
using Xunit.Abstractions;

namespace Genie.Media.Tests;

/// <summary>
/// Malformed files, fuzz style: valid PNG, JPEG and WebP files made here, then cut at many lengths and with bytes
/// flipped at many places. A cut file must be refused with an <see cref="InvalidDataException"/>; a file with flipped
/// bytes must be refused the same way or decode to some picture (JPEG and lossy WebP carry no checksum: a flip inside their
/// compressed data often just changes pixels); never another exception, a crash or a hang.
/// </summary>
public class MalformedFileTests(ITestOutputHelper output)
{
    [Fact]
    public void TruncatedAndFlippedFiles_DecodeOrAreRefused_NeverCrash()
    {
        foreach (var (kind, good) in MalformedFiles.ValidFiles())
        {
            var whole = ImageFile.Decode(good);
            Assert.Equal((61, 47), (whole.Width, whole.Height));
            int refused = 0, decoded = 0;
            foreach (var (name, data, cut) in MalformedFiles.Variants(kind, good))
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    var img = ImageFile.Decode(data);
                    Assert.False(cut, $"{name}: decoded to {img.Width}×{img.Height} although its end is missing");
                    decoded++;
                }
                catch (InvalidDataException e)
                {
                    Assert.False(string.IsNullOrWhiteSpace(e.Message), name);
                    refused++;
                }
                Assert.True(clock.ElapsedMilliseconds < 2000, $"{name}: took {clock.ElapsedMilliseconds} ms");
            }
            output.WriteLine($"{kind} ({good.Length} bytes): {refused} refused, {decoded} decoded to a picture");
        }
    }
}
