using System.Text.Json;

namespace Genie.Cli.Tests;

/// <summary>`genie agent bc` (issue 12) on a tiny run: one label count, one seed, three levels.</summary>
public class AgentBcTests(TinyRunFixture f) : IClassFixture<TinyRunFixture>
{
    private (int Exit, string Stdout, string Stderr) Bc(params string[] extra) => BcWith("10", extra);

    private (int Exit, string Stdout, string Stderr) BcWith(string labels, params string[] extra) =>
        Genie.Run(["agent", "bc", "--run", f.Run, "--labels", labels, "--seeds", "1", "--levels", "3", "--episodes", "4", "--steps", "5",
                   "--threads", "1", .. extra]);

    [Fact]
    public void TinyRun_ScoresEveryPolicy_AsJsonLines_AndWritesTheTableAndPlot()
    {
        var dir = Path.Combine(f.Root, "bc-" + Guid.NewGuid().ToString("N")[..8]);
        var r = Bc("--json", "--out", dir);
        Assert.True(r.Exit == 0, r.Stderr);
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["latent", "oracle", "random"], rows.Select(x => x.GetProperty("policy").GetString()!).ToArray());
        Assert.Equal(10, rows[0].GetProperty("labels").GetInt32());
        Assert.InRange(rows[0].GetProperty("mapping_agreement").GetDouble(), 0, 1);     // how often latent → real recovers the expert
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("mapping_agreement").ValueKind);
        Assert.All(rows, x =>
        {
            Assert.Equal(0, x.GetProperty("seed").GetInt32());
            Assert.Equal("hard", x.GetProperty("difficulty").GetString());   // the fixture's data make default
            double share = x.GetProperty("solved_share").GetDouble();
            Assert.True(share is 0 or 1 / 3.0 or 2 / 3.0 or 1 || Math.Abs(share * 3 - Math.Round(share * 3)) < 1e-3, $"share {share} of 3 levels");
        });
        Assert.Contains("train latent policy", r.Stderr);                    // progress bars on training and evaluation
        Assert.Contains("seed 0: oracle", r.Stderr);
        var png = File.ReadAllBytes(Path.Combine(dir, "bc.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Contains("| oracle |", File.ReadAllText(Path.Combine(dir, "bc.md")));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "bc.jsonl")).Length);
    }

    [Fact]
    public void SameSeed_SameTable()
    {
        var a = Bc("--difficulty", "easy");
        var b = Bc("--difficulty", "easy");
        Assert.True(a.Exit == 0, a.Stderr);
        Assert.Contains("| latent | 10 |", a.Stdout);
        Assert.Equal(a.Stdout, b.Stdout);
    }

    [Fact]
    public void BadLabels_AreOneLineErrors()
    {
        var r = BcWith("10,abc");
        Assert.Equal(1, r.Exit);
        Assert.Contains("genie agent bc: --labels must be positive integers", r.Stderr);
        r = BcWith("100000");
        Assert.Equal(1, r.Exit);
        Assert.Contains("genie agent bc: --labels 100000 is more than the expert data's", r.Stderr);
    }

    [Fact]
    public void GivenExpertData_TrainsOnIt()
    {
        var r = BcWith("5", "--data", f.Data, "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(3, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("expert episodes", r.Stderr);                 // nothing played: the dataset is the video
    }
}
