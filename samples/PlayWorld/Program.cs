// PlayWorld: loads a learned world (default: the repository's models/small), starts from the model's first prompt
// image, holds one latent action for 20 frames and writes the rollout as an animated GIF.
//
//   dotnet run --configuration Release --project samples/PlayWorld -- [MODEL_FOLDER] [--out playworld.gif]
//                                                                    [--action 1] [--frames 20] [--seed 0]
using Genie.Media;
using Genie.Play;

try
{
    string? modelArg = null, output = "playworld.gif";
    int action = 1, frames = 20;
    ulong seed = 0;
    for (int i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--")) { modelArg = args[i]; continue; }
        if (i + 1 == args.Length) throw new ArgumentException($"{args[i]} needs a value");
        string value = args[++i];
        switch (args[i - 1])
        {
            case "--out": output = value; break;
            case "--action": action = int.Parse(value); break;
            case "--frames": frames = int.Parse(value); break;
            case "--seed": seed = ulong.Parse(value); break;
            default: throw new ArgumentException($"unknown option {args[i - 1]}");
        }
    }

    // No folder given: models/small, looked for from here and from the program's location upwards.
    string? folder = ModelLocator.Resolve(modelArg, out var searched);
    if (folder is null) throw new DirectoryNotFoundException($"no model folder given and models/small not found (looked in {string.Join(", ", searched)})");

    using var world = GenieWorld.Load(folder);
    if (world.PromptFiles.Count == 0) throw new InvalidDataException($"{folder} has no prompts/ images to start from");
    world.Start(world.PromptFiles[0], seed);

    var images = new List<Image> { new(world.Width, world.Height, world.Frame) };
    for (int f = 0; f < frames; f++)
        images.Add(new Image(world.Width, world.Height, world.Step(action)));   // RGB bytes, Height×Width×3

    // Four times larger with crisp pixels, 10 frames per second (the training data's rate).
    GifWriter.Save(output, images.Select(img => Resize.Scale(img, 4)), delayCentiseconds: 10);
    Console.WriteLine($"wrote {output}: {images.Count} frames of {world.Width}x{world.Height} from {folder} " +
                      $"(the prompt, then latent action '{world.ActionNames[action]}' held for {frames} steps, seed {seed})");
    return 0;
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"PlayWorld: {e.Message}");
    return 1;
}
