using System.Net;
using System.Reflection;
using System.Text.Json;
using Genie.Data;
using Genie.Media;
using Genie.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Genie.Play;

/// <summary>What the server plays: a model (or none: the real world only), its sample prompts and its action labels.</summary>
public sealed class PlayContent
{
    /// <summary>The world model, or null to serve only the real platformer world.</summary>
    public GenieModel? Model { get; init; }
    /// <summary>Where the model came from, for the page ("models/small, step 2000", "random tiny").</summary>
    public string ModelDescription { get; init; } = "";
    /// <summary>Sample prompt frames.</summary>
    public required SampleFrames Samples { get; init; }
    /// <summary>Names and keys of the latent actions.</summary>
    public ActionMap? LatentActions { get; init; }

    /// <summary>Frame size of the page: the model's, else the samples'.</summary>
    public int Width => Model?.Config.Width ?? Samples.Width;
    /// <summary>Frame size of the page.</summary>
    public int Height => Model?.Config.Height ?? Samples.Height;
}

/// <summary>
/// The play server: ASP.NET Core minimal APIs on Kestrel, bound to loopback unless told otherwise. Serves the page
/// (embedded HTML/JS/CSS) and a JSON API (docs/play.md): sessions of the learned world or the real one, steps,
/// step back, reset, frames as PNG, the session as GIF or MP4. Every error is JSON <c>{"error": message}</c> with a
/// 4xx/5xx status; a bad request never takes the server down.
/// </summary>
public sealed class PlayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SessionStore _sessions;
    private readonly InferenceGate _gate;
    private readonly PlayContent _content;
    private readonly PlayOptions _options;
    private readonly ILogger _log;

    /// <summary>The address the server listens on (with the real port when port 0 was asked for).</summary>
    public string Url { get; private set; } = "";
    /// <summary>Live sessions (for tests and logs).</summary>
    public SessionStore Sessions => _sessions;

    private PlayServer(WebApplication app, PlayContent content, PlayOptions options)
    {
        _app = app;
        _content = content;
        _options = options;
        _sessions = new SessionStore(options);
        _gate = new InferenceGate(options.QueueTimeout);
        _log = app.Logger;
        Map(app);
    }

    /// <summary>Builds and starts a server; returns once it listens.</summary>
    public static async Task<PlayServer> StartAsync(PlayContent content, PlayOptions options, LogLevel logLevel = LogLevel.Warning)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(logLevel);
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            // Kestrel's own cap is above the upload limit: an upload a little too large is read to its end and
            // answered with a 413 and a message (closing the connection mid-upload would show the user only a
            // network error). Far larger bodies are cut off by Kestrel.
            k.Limits.MaxRequestBodySize = DrainLimit(options);
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxConcurrentConnections = 256;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(30);
            if (options.Host is "localhost") k.ListenLocalhost(options.Port);
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port);
            else throw new ArgumentException($"--host must be an IP address or 'localhost', got '{options.Host}'");
        });
        // A query value that does not bind (?scale=abc) throws, so ErrorsAsJson answers it with a JSON 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        var app = builder.Build();
        var server = new PlayServer(app, content, options);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        server.Url = (addresses.FirstOrDefault() ?? $"http://{options.Host}:{options.Port}").Replace("[::1]", "localhost");
        return server;
    }

    /// <summary>Runs until <paramref name="stop"/> is cancelled or the process is told to stop (SIGTERM, Ctrl+C).</summary>
    public Task WaitAsync(CancellationToken stop) => _app.WaitForShutdownAsync(stop);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        _sessions.Dispose();
        await _app.DisposeAsync();
    }

    // ------------------------------------------------------------------ routes

    private void Map(WebApplication app)
    {
        app.Use(ErrorsAsJson);
        app.Use(SameSiteOnly);

        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/static/{name}", (string name) => Asset(name));
        app.MapGet("/api/info", Info);
        app.MapGet("/api/samples/{index:int}.png", (int index, int? scale) => PngResult(Sample(index), _content.Width, _content.Height, scale ?? 1));
        // A cast to Delegate: a method taking only HttpContext would otherwise bind as a RequestDelegate and drop its result.
        app.MapPost("/api/sessions", (Delegate)CreateSession);
        app.MapGet("/api/sessions/{id}", (string id) => WithSession(id, s => State(s)));
        app.MapPost("/api/sessions/{id}/step", Step);
        app.MapPost("/api/sessions/{id}/back", (string id) => WithSession(id, s => { s.StepBack(); return State(s); }, inference: s => s.Mode == "genie"));
        app.MapPost("/api/sessions/{id}/reset", (string id) => WithSession(id, s => { s.Reset(); return State(s); }, inference: s => s.Mode == "genie"));
        app.MapGet("/api/sessions/{id}/frames/{index:int}.png", (string id, int index, int? scale) => WithSession(id, s =>
        {
            if ((uint)index >= (uint)s.Frames.Count) throw new PlayException(404, $"frame {index} does not exist (the session has {s.Frames.Count})");
            return PngResult(s.Frames[index], s.Width, s.Height, scale ?? 1);
        }));
        app.MapGet("/api/sessions/{id}/video.gif", (string id, int? scale, double? fps) => WithSession(id, s =>
        {
            // Written frame by frame to a temporary file that is deleted once sent: memory stays one enlarged frame.
            CheckExportSize(s, CheckScale(scale ?? 4));
            var file = VideoExport.GifFile(s.Frames.ToList(), s.Width, s.Height, CheckScale(scale ?? 4), CheckFps(fps));
            return Results.Stream(file, "image/gif", $"genie-{s.Mode}.gif");
        }));
        app.MapGet("/api/sessions/{id}/video.mp4", (string id, int? scale, double? fps) => WithSession(id, s =>
        {
            CheckExportSize(s, CheckScale(scale ?? 4));
            try { return Results.File(VideoExport.Mp4(s.Frames.ToList(), s.Width, s.Height, CheckScale(scale ?? 4), CheckFps(fps)), "video/mp4", $"genie-{s.Mode}.mp4"); }
            catch (FfmpegMissingException e) { throw new PlayException(501, e.Message); }
        }));
        app.MapDelete("/api/sessions/{id}", async (string id) => await _sessions.CloseAsync(id) ? Results.NoContent() : Error(404, "no such session"));
        // navigator.sendBeacon can only POST: the page closes its session this way when the tab goes away.
        app.MapPost("/api/sessions/{id}/close", async (string id) => { await _sessions.CloseAsync(id); return Results.NoContent(); });
        // Every path, with or without a file extension (the default fallback skips "file" paths such as x/abc.png).
        app.MapFallback("{*path}", (HttpContext ctx) => Error(404, $"nothing at {ctx.Request.Method} {ctx.Request.Path}; see docs/play.md for the API"));
    }

    private async Task ErrorsAsJson(HttpContext ctx, RequestDelegate next)
    {
        try { await next(ctx); }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var (status, message) = e switch
            {
                PlayException p => (p.Status, p.Message),
                BadHttpRequestException { StatusCode: 413 } => (413, TooLarge().Message),
                BadHttpRequestException b => (b.StatusCode, b.Message),
                InvalidDataException or FormatException or JsonException => (400, e.Message),
                ArgumentException => (400, e.Message),
                OperationCanceledException when ctx.RequestAborted.IsCancellationRequested => (499, "the request was cancelled"),
                _ => (500, $"internal error: {e.Message}"),
            };
            if (status >= 500) _log.LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path);
            ctx.Response.Clear();
            ctx.Response.StatusCode = status;
            await ctx.Response.WriteAsJsonAsync(new { error = message });
        }
    }

    /// <summary>
    /// Refuses what a web page on another site could make a browser send here. On a loopback address the Host header
    /// must name loopback (a DNS-rebinding page sends its own name); a state-changing request (anything but GET and
    /// HEAD) whose Origin is another site than the one the request is addressed to is refused, which also stops
    /// cross-site "simple" POSTs (text/plain forms) that browsers send without asking.
    /// </summary>
    private async Task SameSiteOnly(HttpContext ctx, RequestDelegate next)
    {
        var host = ctx.Request.Host;
        if (IsLoopback(_options.Host) && host.HasValue && !IsLoopback(host.Host))
            throw new PlayException(403, $"this server answers only requests addressed to this machine (Host '{host.Value}' refused)");
        if (!HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method))
        {
            var origin = ctx.Request.Headers.Origin.FirstOrDefault();
            if (origin is not null && (!Uri.TryCreate(origin, UriKind.Absolute, out var o) || !host.HasValue
                || !string.Equals(o.Authority, host.Value, StringComparison.OrdinalIgnoreCase)))
                throw new PlayException(403, $"cross-site request refused (Origin {origin}); use the page this server serves");
            if (ctx.Request.Headers["Sec-Fetch-Site"].FirstOrDefault() == "cross-site")
                throw new PlayException(403, "cross-site request refused; use the page this server serves");
        }
        await next(ctx);
    }

    private static bool IsLoopback(string host)
    {
        host = host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    private object Info() => new
    {
        model = _content.Model is { } m ? new
        {
            description = _content.ModelDescription,
            name = m.Config.Name,
            width = m.Config.Width,
            height = m.Config.Height,
            maxFrames = m.Config.MaxFrames,
            numActions = m.NumActions,
            steps = _options.Steps ?? m.Config.Dynamics.SamplingSteps,
            temperature = _options.Temperature ?? m.Config.Dynamics.Temperature,
            actionNames = _content.LatentActions!.Names,
            keys = _content.LatentActions.Keys,
            labels = _content.LatentActions.Source,
        } : null,
        world = new { actionNames = ActionMap.ForWorld().Names, keys = ActionMap.ForWorld().Keys, difficulty = _options.Difficulty.ToString().ToLowerInvariant() },
        samples = new { count = _content.Samples.Count, source = _content.Samples.Source },
        limits = new
        {
            maxSessions = _options.MaxSessions,
            openSessions = _sessions.Count,
            maxFramesPerSession = _options.MaxFramesPerSession,
            maxUploadBytes = _options.MaxUploadBytes,
            maxImagePixels = _options.MaxImagePixels,
            maxExportPixels = _options.MaxExportPixels,
            idleTimeoutSeconds = _options.IdleTimeout.TotalSeconds,
        },
        fit = _options.Fit.ToString().ToLowerInvariant(),
        ffmpeg = FfmpegAvailable.Value,
    };

    private static readonly Lazy<bool> FfmpegAvailable = new(() =>
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ffmpeg", "-version") { RedirectStandardOutput = true, RedirectStandardError = true });
            p!.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (Exception) { return false; }
    });

    private byte[] Sample(int index)
    {
        if ((uint)index >= (uint)_content.Samples.Count) throw new PlayException(404, $"sample {index} does not exist (0..{_content.Samples.Count - 1})");
        return _content.Samples.Get(index);
    }

    // POST /api/sessions?mode=genie|world&sample=I&seed=S&steps=N&temperature=T&fit=crop|letterbox|stretch&level=L
    // with an optional body: an image (raw bytes or the first file of a multipart form).
    private async Task<IResult> CreateSession(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        string mode = q["mode"].FirstOrDefault() ?? (_content.Model is null ? "world" : "genie");
        if (mode == "world")
        {
            int level = QueryInt(q, "level") ?? Random.Shared.Next(0, 1_000_000);
            var s = await _sessions.AddAsync(() => Task.FromResult<PlaySession>(new RealWorldSession(_content.Width, _content.Height, _options.Difficulty, level)));
            return Results.Json(State(s), statusCode: 201);
        }
        if (mode != "genie") throw new PlayException(400, $"mode must be 'genie' or 'world', got '{mode}'");
        var model = _content.Model ?? throw new PlayException(409, "this server has no world model loaded (it was started without one); only mode=world is available");

        var fit = _options.Fit;
        if (q["fit"].FirstOrDefault() is { } fitText && (!Enum.TryParse(fitText, true, out fit) || int.TryParse(fitText, out _)))
            throw new PlayException(400, $"fit must be crop, letterbox or stretch, got '{fitText}'");
        byte[]? upload = await ReadUpload(ctx);
        int? sample = QueryInt(q, "sample");
        if (upload is null && sample is null) throw new PlayException(400, $"start a session from a sample (?sample=I) or send a {ImageFile.Readable} image as the request body");
        ulong seed = QueryInt(q, "seed") is { } sd ? (ulong)Math.Max(0, sd) : (ulong)Random.Shared.Next();
        int? steps = QueryInt(q, "steps") ?? _options.Steps;
        float? temperature = QueryFloat(q, "temperature") ?? _options.Temperature;
        // The place is reserved first (a full server answers 429 before any work), and the upload is decoded in the
        // inference queue: one large image at a time, however many arrive at once.
        var session = await _sessions.AddAsync(() => _gate.RunAsync<PlaySession>(() =>
        {
            byte[] prompt;
            if (upload is not null)
            {
                try { prompt = PromptImage.FromBytes(upload, model.Config.Width, model.Config.Height, fit, _options.MaxImagePixels); }
                catch (InvalidDataException e) { throw new PlayException(400, $"could not use the uploaded image: {e.Message}"); }
            }
            else prompt = Sample(sample!.Value);
            return new GenieWorldSession(model, _content.LatentActions!, prompt, seed, steps, temperature);
        }, ctx.RequestAborted));
        return Results.Json(State(session), statusCode: 201);
    }

    /// <summary>Kestrel's body limit: room to read an oversized upload to its end before refusing it.</summary>
    private static long DrainLimit(PlayOptions o) => Math.Max(4 * o.MaxUploadBytes, 256L * 1024 * 1024);

    private PlayException TooLarge() =>
        new(413, $"the upload is larger than the server's limit of {_options.MaxUploadBytes / (1024 * 1024.0):0.#} MB");

    /// <summary>The uploaded image: the body, or the first file of a multipart form. Null when nothing was sent; an
    /// empty array when an upload was sent but is empty (so the user hears that). At most MaxUploadBytes are kept;
    /// a larger body is read to its end and discarded, then refused with a 413.</summary>
    private async Task<byte[]?> ReadUpload(HttpContext ctx)
    {
        var req = ctx.Request;
        if (req.ContentLength > DrainLimit(_options)) throw TooLarge();   // the connection closes; nothing else to do
        if (req.HasFormContentType)
        {
            var form = await req.ReadFormAsync(ctx.RequestAborted);
            var file = form.Files.FirstOrDefault() ?? throw new PlayException(400, $"the form has no file; attach a {ImageFile.Readable} image");
            if (file.Length > _options.MaxUploadBytes) throw TooLarge();
            using var ms = new MemoryStream();
            await file.CopyToAsync(ms, ctx.RequestAborted);
            return ms.ToArray();
        }
        using var body = new MemoryStream();
        var buffer = new byte[81920];
        bool tooLarge = false;
        int read;
        while ((read = await req.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
        {
            if (tooLarge || body.Length + read > _options.MaxUploadBytes) { tooLarge = true; continue; }
            body.Write(buffer, 0, read);
        }
        if (tooLarge) throw TooLarge();
        if (body.Length > 0) return body.ToArray();
        // Nothing sent: fine when starting from a sample; an empty file sent as an image is the user's mistake.
        string type = req.ContentType ?? "";
        return type.StartsWith("image/") || type.StartsWith("application/octet-stream") ? [] : null;
    }

    // POST /api/sessions/{id}/step?action=A   (or a JSON body {"action": A})
    private async Task<IResult> Step(HttpContext ctx, string id)
    {
        int? action = QueryInt(ctx.Request.Query, "action");
        if (action is null && ctx.Request.HasJsonContentType())
        {
            var body = await ctx.Request.ReadFromJsonAsync<JsonElement>(ctx.RequestAborted);
            if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("action", out var a))
                action = a.ValueKind == JsonValueKind.Number && a.TryGetInt32(out var v) ? v
                    : throw new PlayException(400, $"the field \"action\" must be a whole number, got {a.GetRawText()}");
        }
        if (action is null) throw new PlayException(400, "say which action: ?action=A or a JSON body {\"action\": A}");
        var result = await WithSessionAsync(id, s =>
        {
            if (s.Frames.Count >= _options.MaxFramesPerSession)
                throw new PlayException(409, $"this session holds {s.Frames.Count} frames, the server's limit; step back, reset, or download it and start a new one");
            s.Step(action.Value);
            return State(s);
        }, inference: s => s.Mode == "genie");
        SchedulePrepare(id);
        return Results.Json(result);
    }

    /// <summary>Slides the window of a learned-world session in the background, so the next key press waits less.</summary>
    private void SchedulePrepare(string id)
    {
        if (!_options.PrepareAhead) return;
        PlaySession s;
        try { s = _sessions.Get(id); } catch (PlayException) { return; }
        if (!s.NeedsPrepare) return;
        _ = Task.Run(async () =>
        {
            if (!await s.Lock.WaitAsync(0)) return;   // the next request is already here; it will do it
            try
            {
                if (!s.Disposed && s.NeedsPrepare) await _gate.RunAsync(() => { s.Prepare(); return 0; });
            }
            catch (Exception e) { _log.LogWarning(e, "preparing session {Id} failed", id); }
            finally { s.Lock.Release(); }
        });
    }

    private Task<IResult> WithSession(string id, Func<PlaySession, IResult> work, Func<PlaySession, bool>? inference = null) =>
        WithSessionAsync(id, work, inference);

    private Task<object> WithSession(string id, Func<PlaySession, object> work, Func<PlaySession, bool>? inference = null) =>
        WithSessionAsync(id, work, inference);

    /// <summary>Runs <paramref name="work"/> holding the session's lock (and the inference gate where it computes).</summary>
    private async Task<T> WithSessionAsync<T>(string id, Func<PlaySession, T> work, Func<PlaySession, bool>? inference = null)
    {
        var s = _sessions.Get(id);
        if (!await s.Lock.WaitAsync(_options.QueueTimeout))
            throw new PlayException(503, "this session is busy with an earlier request; try again in a moment");
        try
        {
            if (s.Disposed) throw new PlayException(404, "the session was closed");
            s.LastUsedTicks = Environment.TickCount64;
            return inference?.Invoke(s) == true ? await _gate.RunAsync(() => work(s)) : work(s);
        }
        finally { s.Lock.Release(); }
    }

    /// <summary>What the page needs after every call: the newest frame (a PNG data URL), history and timing.</summary>
    private object State(PlaySession s) => new
    {
        id = s.Id,
        mode = s.Mode,
        width = s.Width,
        height = s.Height,
        frameIndex = s.Frames.Count - 1,
        frameCount = s.Frames.Count,
        frame = "data:image/png;base64," + Convert.ToBase64String(Png.Encode(new Image(s.Width, s.Height, s.Frames[^1]))),
        actions = s.Actions,
        actionNames = s.ActionMap.Names,
        keys = s.ActionMap.Keys,
        stepMs = Math.Round(s.LastStepMs, 1),
        settings = s.Settings,
        status = s.Status,
        maxFrames = _options.MaxFramesPerSession,
    };

    private static IResult PngResult(byte[] rgb, int w, int h, int scale)
    {
        var img = new Image(w, h, rgb);
        return Results.File(Png.Encode(CheckScale(scale) > 1 ? Resize.Scale(img, scale) : img), "image/png");
    }

    private void CheckExportSize(PlaySession s, int scale)
    {
        long pixels = (long)s.Frames.Count * s.Width * scale * s.Height * scale;
        if (pixels > _options.MaxExportPixels)
            throw new PlayException(400, $"{s.Frames.Count} frames at scale {scale} would be {pixels / 1e6:0.#} megapixels, over the export limit of " +
                                         $"{_options.MaxExportPixels / 1e6:0.#}; choose a smaller scale");
    }

    private static int CheckScale(int scale) => scale is >= 1 and <= 16 ? scale : throw new PlayException(400, $"scale must be in 1..16, got {scale}");
    private static double CheckFps(double? fps) => fps is null ? 10 : fps is >= 1 and <= 60 ? fps.Value : throw new PlayException(400, $"fps must be in 1..60, got {fps}");

    private static int? QueryInt(IQueryCollection q, string name)
    {
        var s = q[name].FirstOrDefault();
        if (string.IsNullOrEmpty(s)) return null;
        return int.TryParse(s, out var v) ? v : throw new PlayException(400, $"{name} must be a whole number, got '{s}'");
    }

    private static float? QueryFloat(IQueryCollection q, string name)
    {
        var s = q[name].FirstOrDefault();
        if (string.IsNullOrEmpty(s)) return null;
        return float.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
            ? v : throw new PlayException(400, $"{name} must be a number, got '{s}'");
    }

    // ------------------------------------------------------------------ page assets

    private static readonly Assembly Self = typeof(PlayServer).Assembly;

    private static IResult Asset(string name)
    {
        if (name.Contains('/') || name.Contains('\\') || name.Contains("..")) return Error(404, "no such file");
        using var stream = Self.GetManifestResourceStream("wwwroot/" + name);
        if (stream is null) return Error(404, $"no such file: {name}");
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        string type = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            ".png" => "image/png",
            _ => "application/octet-stream",
        };
        return Results.Bytes(ms.ToArray(), type);
    }
}
