using System.Net.Http.Json;
using System.Text.Json;
using Genie.Models;
using Genie.Worlds.Platformer;
using Microsoft.Extensions.Logging;
using Genie.Core;

namespace Genie.Play.Tests;

/// <summary>A play server started in-process on a free loopback port with a tiny, randomly initialised model.</summary>
public sealed class PlayHost : IAsyncDisposable
{
    public PlayServer Server { get; }
    public HttpClient Http { get; }
    public GenieModel Model { get; }
    public SampleFrames Samples { get; }

    private PlayHost(PlayServer server, GenieModel model, SampleFrames samples)
    {
        Server = server;
        Model = model;
        Samples = samples;
        Http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The tiny config (configs/tiny.json): 16×16 frames, 4 latent actions, T_max 4, 4 MaskGIT steps.</summary>
    public static GenieModel TinyModel(ulong seed = 1) => new(GenieConfig.Load("tiny"), new Rng(seed));

    public static async Task<PlayHost> StartAsync(PlayOptions? options = null, GenieModel? model = null)
    {
        model ??= TinyModel();
        var samples = SampleFrames.FromWorld(model.Config.Width, model.Config.Height, Difficulty.Easy, count: 4);
        var content = new PlayContent
        {
            Model = model,
            ModelDescription = "random tiny",
            Samples = samples,
            LatentActions = ActionMap.ForLatent(model.NumActions, null),
        };
        var server = await PlayServer.StartAsync(content, (options ?? new PlayOptions()) with { Port = 0 }, LogLevel.Critical);
        return new PlayHost(server, model, samples);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>POSTs and returns (status, JSON body).</summary>
    public async Task<(int Status, JsonElement Body)> PostAsync(string path, HttpContent? content = null)
    {
        using var res = await Http.PostAsync(path, content);
        return ((int)res.StatusCode, await ReadJson(res));
    }

    public async Task<(int Status, JsonElement Body)> GetAsync(string path)
    {
        using var res = await Http.GetAsync(path);
        return ((int)res.StatusCode, await ReadJson(res));
    }

    private static async Task<JsonElement> ReadJson(HttpResponseMessage res)
    {
        var text = await res.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Starts a learned-world session from sample <paramref name="sample"/>; asserts it worked.</summary>
    public async Task<JsonElement> StartSampleAsync(int sample = 0, int seed = 7)
    {
        var (status, body) = await PostAsync($"/api/sessions?mode=genie&sample={sample}&seed={seed}");
        Assert.True(status == 201, $"status {status}: {body}");
        return body;
    }

    public async Task<JsonElement> StepAsync(string id, int action)
    {
        var (status, body) = await PostAsync($"/api/sessions/{id}/step?action={action}");
        Assert.True(status == 200, $"status {status}: {body}");
        return body;
    }

    /// <summary>The server still answers: the guarantee after every bad request.</summary>
    public async Task AssertAliveAsync()
    {
        var (status, body) = await GetAsync("/api/info");
        Assert.Equal(200, status);
        Assert.Equal("tiny", body.GetProperty("model").GetProperty("name").GetString());
    }

    /// <summary>The RGB pixels of a state's frame (a PNG data URL).</summary>
    public static byte[] FramePixels(JsonElement state)
    {
        var url = state.GetProperty("frame").GetString()!;
        const string prefix = "data:image/png;base64,";
        Assert.StartsWith(prefix, url);
        return Genie.Media.ImageFile.Decode(Convert.FromBase64String(url[prefix.Length..])).Data;
    }
}
