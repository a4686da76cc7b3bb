using System.Text.Json;
using Genie.Core;
using Genie.Media;

namespace Genie.Play.Tests;

/// <summary>The play API against a server started in-process (one per test class).</summary>
public sealed class SessionApiTests : IAsyncLifetime
{
    private PlayHost _host = null!;
    public async Task InitializeAsync() => _host = await PlayHost.StartAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Page_AndInfo_AreServed()
    {
        using var page = await _host.Http.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<img id=\"frame\"", await page.Content.ReadAsStringAsync());
        foreach (var asset in new[] { "app.js", "style.css" })
        {
            using var res = await _host.Http.GetAsync($"/static/{asset}");
            Assert.Equal(200, (int)res.StatusCode);
        }
        var (status, info) = await _host.GetAsync("/api/info");
        Assert.Equal(200, status);
        var model = info.GetProperty("model");
        Assert.Equal(4, model.GetProperty("numActions").GetInt32());
        Assert.Equal(4, model.GetProperty("actionNames").GetArrayLength());
        Assert.Equal(7, info.GetProperty("world").GetProperty("actionNames").GetArrayLength());
        Assert.Equal(4, info.GetProperty("samples").GetProperty("count").GetInt32());
        using var sample = await _host.Http.GetAsync("/api/samples/1.png?scale=2");
        var png = ImageFile.Decode(await sample.Content.ReadAsByteArrayAsync());
        Assert.Equal((32, 32), (png.Width, png.Height));
    }

    [Fact]
    public async Task Session_FromASample_Steps_StepsBack_Resets()
    {
        var s = await _host.StartSampleAsync(sample: 2);
        string id = s.GetProperty("id").GetString()!;
        Assert.Equal(0, s.GetProperty("frameIndex").GetInt32());
        Assert.Equal(16 * 16 * 3, PlayHost.FramePixels(s).Length);

        var frames = new List<byte[]> { PlayHost.FramePixels(s) };
        foreach (var a in new[] { 1, 2, 3 })
        {
            var next = await _host.StepAsync(id, a);
            frames.Add(PlayHost.FramePixels(next));
            Assert.Equal(frames.Count - 1, next.GetProperty("frameIndex").GetInt32());
            Assert.True(next.GetProperty("stepMs").GetDouble() > 0);
        }
        Assert.NotEqual(frames[0], frames[1]);

        // A JSON body works as well as the query.
        var (st, viaJson) = await _host.PostAsync($"/api/sessions/{id}/step", JsonContent(new { action = 0 }));
        Assert.Equal(200, st);
        Assert.Equal(new[] { 1, 2, 3, 0 }, viaJson.GetProperty("actions").EnumerateArray().Select(x => x.GetInt32()));

        var (_, back) = await _host.PostAsync($"/api/sessions/{id}/back");
        Assert.Equal(3, back.GetProperty("frameIndex").GetInt32());
        Assert.Equal(frames[3], PlayHost.FramePixels(back));

        var (_, reset) = await _host.PostAsync($"/api/sessions/{id}/reset");
        Assert.Equal(0, reset.GetProperty("frameIndex").GetInt32());
        Assert.Empty(reset.GetProperty("actions").EnumerateArray());
        // Reset reseeds the sampler: the same actions replay the same frames.
        for (int i = 0; i < 3; i++)
            Assert.Equal(frames[i + 1], PlayHost.FramePixels(await _host.StepAsync(id, i + 1)));

        using var png = await _host.Http.GetAsync($"/api/sessions/{id}/frames/2.png?scale=4");
        var img = ImageFile.Decode(await png.Content.ReadAsByteArrayAsync());
        Assert.Equal((64, 64), (img.Width, img.Height));
        Assert.Equal(frames[2], Resize.Nearest(img, 16, 16).Data);
    }

    [Fact]
    public async Task TheServer_UsesTheCachedSampler_WhichMatchesUncachedGeneration()
    {
        // Frames through the API equal GenieModel.Generate (full recomputation each MaskGIT step) for the same seed,
        // past the T_max = 4 window, up to decoder rounding.
        var s = await _host.StartSampleAsync(sample: 0, seed: 42);
        string id = s.GetProperty("id").GetString()!;
        int[] actions = [0, 1, 2, 3, 3, 2, 1];
        var served = new List<byte[]> { PlayHost.FramePixels(s) };
        foreach (var a in actions) served.Add(PlayHost.FramePixels(await _host.StepAsync(id, a)));

        var video = _host.Model.DecodeVideo(_host.Model.GenerateTokens(_host.Samples.Get(0), 1, actions, actions.Length + 1, new Rng(42)), 1, actions.Length + 1);
        int fb = 16 * 16 * 3;
        for (int f = 0; f < served.Count; f++)
            for (int i = 0; i < fb; i++)
                Assert.True(Math.Abs(served[f][i] - video[f * fb + i]) <= 1, $"frame {f} byte {i}: served {served[f][i]}, uncached {video[f * fb + i]}");
    }

    [Fact]
    public async Task TwoSessions_NeverSeeEachOthersState()
    {
        var a = await _host.StartSampleAsync(sample: 1, seed: 3);
        var b = await _host.StartSampleAsync(sample: 1, seed: 3);
        string ida = a.GetProperty("id").GetString()!, idb = b.GetProperty("id").GetString()!;
        Assert.NotEqual(ida, idb);

        // Interleaved and concurrent steps: each session's frames depend only on its own actions.
        var sa = new List<byte[]>();
        var sb = new List<byte[]>();
        for (int i = 0; i < 5; i++)
        {
            var ta = _host.StepAsync(ida, 1);
            var tb = _host.StepAsync(idb, 2);
            var ra = await ta;
            var rb = await tb;
            sa.Add(PlayHost.FramePixels(ra));
            sb.Add(PlayHost.FramePixels(rb));
            Assert.Equal(Enumerable.Repeat(1, i + 1), ra.GetProperty("actions").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(Enumerable.Repeat(2, i + 1), rb.GetProperty("actions").EnumerateArray().Select(x => x.GetInt32()));
        }
        Assert.NotEqual(sa[0], sb[0]);

        // Resetting A leaves B where it was; A then replays exactly what it did alone.
        await _host.PostAsync($"/api/sessions/{ida}/reset");
        var (_, bState) = await _host.GetAsync($"/api/sessions/{idb}");
        Assert.Equal(5, bState.GetProperty("frameIndex").GetInt32());
        for (int i = 0; i < 5; i++) Assert.Equal(sa[i], PlayHost.FramePixels(await _host.StepAsync(ida, 1)));

        // A third session with the same seed and B's actions reproduces B: nothing leaked between them.
        var c = await _host.StartSampleAsync(sample: 1, seed: 3);
        string idc = c.GetProperty("id").GetString()!;
        for (int i = 0; i < 5; i++) Assert.Equal(sb[i], PlayHost.FramePixels(await _host.StepAsync(idc, 2)));
        foreach (var id in new[] { ida, idb, idc }) await _host.Http.DeleteAsync($"/api/sessions/{id}");
    }

    [Fact]
    public async Task Downloads_GifAlways_Mp4WhenFfmpegIsThere()
    {
        var s = await _host.StartSampleAsync();
        string id = s.GetProperty("id").GetString()!;
        for (int i = 0; i < 3; i++) await _host.StepAsync(id, i);
        using var gif = await _host.Http.GetAsync($"/api/sessions/{id}/video.gif?scale=2");
        Assert.Equal("image/gif", gif.Content.Headers.ContentType!.MediaType);
        var bytes = await gif.Content.ReadAsByteArrayAsync();
        Assert.Equal("GIF89a"u8.ToArray(), bytes[..6]);
        Assert.Equal(32, bytes[6] | bytes[7] << 8);                       // width: 16 × scale 2
        Assert.Equal(4, CountGifFrames(bytes));

        using var mp4 = await _host.Http.GetAsync($"/api/sessions/{id}/video.mp4");
        if ((int)mp4.StatusCode == 200)
        {
            var m = await mp4.Content.ReadAsByteArrayAsync();
            Assert.Equal("ftyp"u8.ToArray(), m[4..8]);
        }
        else
        {
            Assert.Equal(501, (int)mp4.StatusCode);
            Assert.Contains("ffmpeg", await mp4.Content.ReadAsStringAsync());
        }
        var (st, err) = await _host.GetAsync($"/api/sessions/{id}/video.gif?scale=100");
        Assert.Equal(400, st);
        Assert.Contains("scale", err.GetProperty("error").GetString());
    }

    /// <summary>Graphic control extensions (one per frame in our writer).</summary>
    private static int CountGifFrames(byte[] gif)
    {
        int n = 0;
        for (int i = 0; i + 2 < gif.Length; i++) if (gif[i] == 0x21 && gif[i + 1] == 0xF9 && gif[i + 2] == 4) n++;
        return n;
    }

    [Fact]
    public async Task RealWorld_PlaysThePlatformer_WithItsOwnActions()
    {
        var (status, s) = await _host.PostAsync("/api/sessions?mode=world&level=11");
        Assert.Equal(201, status);
        string id = s.GetProperty("id").GetString()!;
        Assert.Equal("world", s.GetProperty("mode").GetString());
        Assert.Equal("right", s.GetProperty("actionNames")[2].GetString());
        var first = PlayHost.FramePixels(s);
        JsonElement last = s;
        for (int i = 0; i < 6; i++) last = await _host.StepAsync(id, 2);
        Assert.NotEqual(first, PlayHost.FramePixels(last));
        var (bad, err) = await _host.PostAsync($"/api/sessions/{id}/step?action=7");
        Assert.Equal(400, bad);
        Assert.Contains("0..6", err.GetProperty("error").GetString());
        var (_, back) = await _host.PostAsync($"/api/sessions/{id}/back");
        Assert.Equal(5, back.GetProperty("frameIndex").GetInt32());
        var (_, reset) = await _host.PostAsync($"/api/sessions/{id}/reset");
        Assert.Equal(first, PlayHost.FramePixels(reset));
        await _host.Http.DeleteAsync($"/api/sessions/{id}");
    }

    [Fact]
    public async Task BadRequests_GetJsonErrors_AndTheServerStaysUp()
    {
        var s = await _host.StartSampleAsync();
        string id = s.GetProperty("id").GetString()!;
        var cases = new (string Method, string Path, int Status, string Says)[]
        {
            ("POST", $"/api/sessions/{id}/step", 400, "action"),
            ("POST", $"/api/sessions/{id}/step?action=abc", 400, "whole number"),
            ("POST", $"/api/sessions/{id}/step?action=4", 400, "0..3"),
            ("POST", $"/api/sessions/{id}/step?action=-1", 400, "does not exist"),
            ("POST", "/api/sessions/nope/step?action=1", 404, "no such session"),
            ("GET", $"/api/sessions/{id}/frames/99.png", 404, "frame 99"),
            ("POST", "/api/sessions?mode=genie", 400, "sample"),
            ("POST", "/api/sessions?mode=genie&sample=99", 404, "sample 99"),
            ("POST", "/api/sessions?mode=dream&sample=0", 400, "mode"),
            ("POST", "/api/sessions?mode=genie&sample=0&steps=0", 400, "steps"),
            ("POST", "/api/sessions?mode=genie&sample=0&temperature=nan", 400, "temperature"),
            ("POST", "/api/sessions?mode=genie&sample=0&fit=zoom", 400, "fit"),
            ("POST", "/api/sessions?mode=world&level=-3", 400, "level"),
            ("GET", "/api/nothing/here", 404, "nothing at"),
            ("GET", $"/api/sessions/{id}/frames/abc.png", 404, "nothing at"),
            ("GET", $"/api/sessions/{id}/frames/0.png?scale=abc", 400, "scale"),
            ("GET", "/api/samples/0.png?scale=abc", 400, "scale"),
        };
        foreach (var (method, path, want, says) in cases)
        {
            var (status, body) = method == "GET" ? await _host.GetAsync(path) : await _host.PostAsync(path);
            Assert.True(status == want, $"{method} {path}: status {status}, want {want}: {body}");
            Assert.Contains(says, body.GetProperty("error").GetString());
            await _host.AssertAliveAsync();
        }
        // A JSON body whose action is not a number names the field.
        foreach (var body in new object[] { new { action = "abc" }, new { action = (int?)null }, new { action = 1.5 } })
        {
            var (status, answer) = await _host.PostAsync($"/api/sessions/{id}/step", JsonContent(body));
            Assert.True(status == 400, $"{JsonSerializer.Serialize(body)}: status {status}: {answer}");
            Assert.Contains("\"action\"", answer.GetProperty("error").GetString());
        }
        // Large exports are bounded (above) and streamed: a long session exported many times at the largest scale
        // allowed does not keep its memory.
        for (int i = 0; i < 60; i++) await _host.StepAsync(id, i % 4);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < 5; i++)
        {
            using var gif = await _host.Http.GetAsync($"/api/sessions/{id}/video.gif?scale=8");
            Assert.Equal(200, (int)gif.StatusCode);
            var bytes = await gif.Content.ReadAsByteArrayAsync();
            Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(bytes, 0, 6));
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 20_000_000, $"managed memory grew by {(after - before) / 1e6:0.0} MB over 5 exports");
        // Over the export limit (set low here): a 400 that says so, for GIF and MP4 alike.
        await using (var small = await PlayHost.StartAsync(new PlayOptions { MaxExportPixels = 10_000 }))
        {
            var other = (await small.StartSampleAsync()).GetProperty("id").GetString()!;
            foreach (var kind in new[] { "gif", "mp4" })
            {
                var (status, body) = await small.GetAsync($"/api/sessions/{other}/video.{kind}?scale=16");
                Assert.True(status == 400, $"{kind}: status {status}: {body}");
                Assert.Contains("export limit", body.GetProperty("error").GetString());
            }
        }
        await _host.Http.DeleteAsync($"/api/sessions/{id}");
    }

    [Fact]
    public async Task OtherSites_CannotDriveTheServer()
    {
        // DNS rebinding: a page at evil.example resolving to 127.0.0.1 sends its own name as Host.
        using (var req = new HttpRequestMessage(HttpMethod.Get, "/api/info"))
        {
            req.Headers.Host = "evil.example";
            using var res = await _host.Http.SendAsync(req);
            Assert.Equal(403, (int)res.StatusCode);
            Assert.Contains("Host", await res.Content.ReadAsStringAsync());
        }
        // A cross-site form POST (text/plain, no preflight) carries the other site's Origin.
        foreach (var (header, value) in new[] { ("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site") })
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/api/sessions?mode=world&level=1")
            { Content = new StringContent("x", System.Text.Encoding.UTF8, "text/plain") };
            req.Headers.Add(header, value);
            using var res = await _host.Http.SendAsync(req);
            Assert.Equal(403, (int)res.StatusCode);
            Assert.Contains("cross-site", await res.Content.ReadAsStringAsync());
        }
        Assert.Equal(0, _host.Server.Sessions.Count);
        // The page's own requests (same Origin as the address it is served from) work.
        using (var req = new HttpRequestMessage(HttpMethod.Post, "/api/sessions?mode=world&level=1"))
        {
            req.Headers.Add("Origin", _host.Server.Url.TrimEnd('/'));
            using var res = await _host.Http.SendAsync(req);
            Assert.Equal(201, (int)res.StatusCode);
        }
        // /api/info names no absolute server path.
        var (_, info) = await _host.GetAsync("/api/info");
        Assert.DoesNotContain(Path.GetTempPath(), info.GetRawText());
        Assert.DoesNotContain("\"/", info.GetRawText());
    }

    private static HttpContent JsonContent(object o) =>
        new StringContent(JsonSerializer.Serialize(o), System.Text.Encoding.UTF8, "application/json");
}
