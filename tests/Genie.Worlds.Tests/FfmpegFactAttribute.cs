using Genie.Data;

namespace Genie.Worlds.Tests;

/// <summary>
/// A test that needs ffmpeg: on a machine without it the test is skipped with a one-line message saying what to
/// install, so <c>./run-tests</c> passes with only the .NET SDK; under <c>CI=true</c> it always runs (and fails if
/// ffmpeg is missing: .ci/run installs it).
/// </summary>
public sealed class FfmpegFactAttribute : FactAttribute
{
    /// <summary>Why tests of this kind skip here, or null when ffmpeg is on the PATH or this is CI.</summary>
    public static readonly string? SkipReason = Find();

    public FfmpegFactAttribute() { if (SkipReason is not null) Skip = SkipReason; }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("CI") is "1" or "true" or "TRUE" or "yes") return null;
        try { VideoIngest.CheckFfmpeg(); return null; }
        catch (FfmpegNotFoundException) { return "needs ffmpeg on the PATH (apt-get install ffmpeg); runs under CI=true"; }
    }
}
