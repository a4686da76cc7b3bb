using Genie.Core;
using Genie.Engine;
using Genie.Nn;

namespace Genie.Nn.Tests;

public class ModuleTests
{
    [Fact]
    public void NamedParameters_FollowTheDocumentedLayout()
    {
        var block = new STBlock(16, 2, qkNorm: true, new Rng(1));
        var names = block.NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("norm_s.weight", names);
        Assert.Contains("attn_s.qkv.weight", names);
        Assert.Contains("attn_t.q_norm.bias", names);
        Assert.Contains("ffn.fc2.bias", names);
        Assert.Equal(names.Count, names.Distinct().Count());
        var shapes = block.NamedParameters().ToDictionary(p => p.Name, p => p.Param.Shape);
        Assert.Equal([48, 16], shapes["attn_s.qkv.weight"]);
        Assert.Equal([8], shapes["attn_s.q_norm.weight"]);
        Assert.Equal([64, 16], shapes["ffn.fc1.weight"]);
    }

    [Fact]
    public void STTransformer_TemporalAttentionIsCausal()
    {
        var rng = new Rng(2);
        var model = new STTransformer(16, 2, 2, tokens: 3, maxFrames: 5, qkNorm: false, rng);
        var x = new float[1 * 5 * 3 * 16];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        float[] Run(float[] input)
        {
            using var _ = new TensorScope();
            using var __ = Engine.Autograd.Tape.NoGrad();
            return model.Forward(Tensor.From(input, 1, 5, 3, 16)).ToArray();
        }
        var a = Run(x);
        var x2 = (float[])x.Clone();
        for (int i = 3 * 3 * 16; i < x2.Length; i++) x2[i] += rng.NextNormal();    // change frames 3 and 4
        var b = Run(x2);
        int frame = 3 * 16;
        for (int i = 0; i < 3 * frame; i++) Assert.Equal(a[i], b[i]);       // frames 0..2 unchanged
        Assert.Contains(Enumerable.Range(3 * frame, frame), i => Math.Abs(a[i] - b[i]) > 1e-3);
    }

    [Theory]
    [InlineData(2, 4)]
    [InlineData(2, 3)]
    [InlineData(2, 2)]
    public void GrownWeights_ComputeWhatTheShallowerStackDid_AndKeepItsBlocksInOrder(int oldDepth, int newDepth)
    {
        var shallow = new STTransformer(16, 2, oldDepth, tokens: 3, maxFrames: 4, qkNorm: true, new Rng(3));
        var weights = shallow.NamedParameters("body.").ToDictionary(p => p.Name, p => (p.Param.Shape, p.Param.ToArray()));
        var deep = new STTransformer(16, 2, newDepth, tokens: 3, maxFrames: 4, qkNorm: true, new Rng(4));
        var grown = deep.GrownWeights(weights, "body.");
        deep.LoadWeights(grown, "body.");
        // Old block i sits at ⌊i·new/old⌋ with its weights; a new block's output projections are zero, its other weights seeded.
        for (int i = 0; i < oldDepth; i++)
            Assert.Equal(weights[$"body.blocks.{i}.attn_t.qkv.weight"].Item2, grown[$"body.blocks.{i * newDepth / oldDepth}.attn_t.qkv.weight"].Data);
        var added = Enumerable.Range(0, newDepth).Except(Enumerable.Range(0, oldDepth).Select(i => i * newDepth / oldDepth)).ToList();
        Assert.Equal(newDepth - oldDepth, added.Count);
        foreach (int j in added)
        {
            Assert.All(grown[$"body.blocks.{j}.ffn.fc2.weight"].Data, v => Assert.Equal(0f, v));
            Assert.All(grown[$"body.blocks.{j}.attn_s.proj.weight"].Data, v => Assert.Equal(0f, v));
            Assert.Contains(grown[$"body.blocks.{j}.ffn.fc1.weight"].Data, v => v != 0f);
        }
        var rng = new Rng(5);
        var x = Enumerable.Range(0, 2 * 4 * 3 * 16).Select(_ => rng.NextNormal()).ToArray();
        using var _ = new TensorScope();
        using var __ = Engine.Autograd.Tape.NoGrad();
        var a = shallow.Forward(Tensor.From(x, 2, 4, 3, 16)).ToArray();
        var b = deep.Forward(Tensor.From(x, 2, 4, 3, 16)).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 5);
        // Growing never removes blocks, and a checkpoint without blocks is not a stack.
        Assert.Throws<InvalidDataException>(() => new STTransformer(16, 2, 1, tokens: 3, maxFrames: 4, qkNorm: true, new Rng(4)).GrownWeights(weights, "body."));
        Assert.Throws<InvalidDataException>(() => deep.GrownWeights(weights, "other."));
    }
}
