using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>`p2p demo`, the README's main command, run as a real process: everything in one process, nothing outside.</summary>
public sealed class DemoCommandTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData(new string[0], "srflx", "direct", "behind port-restricted-cone and port-restricted-cone NATs")]
    [InlineData(new[] { "--nat-a", "symmetric", "--nat-b", "symmetric" }, "relay", "through the relay", "behind symmetric and symmetric NATs")]
    [InlineData(new[] { "--real" }, "host 127.0.0.1", "direct", "on 127.0.0.1")]
    public async Task Demo_connects_two_peers_chats_moves_a_file_and_exits_zero(string[] args, string pairKind, string path, string where)
    {
        var result = await Processes.Run(Processes.Dotnet([Processes.P2pDll, "demo", "--file-mib", "2", .. args]), Timeout);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        var connected = result.Stdout.Split('\n').First(l => l.Contains("connected (ICE + DTLS 1.2):", StringComparison.Ordinal));
        Assert.Contains(pairKind, connected);
        Assert.Contains(path, connected);
        for (int i = 1; i <= 3; i++)
        {
            Assert.Contains($"bob got: hello bob, line {i}", result.Stdout);
            Assert.Contains($"alice got: hi alice, line {i}", result.Stdout);
        }
        Assert.Contains("2 MiB alice -> bob on its own data channel, SHA-256", result.Stdout);
        Assert.Contains("matches", result.Stdout);
        Assert.Contains("alice's candidate pairs", result.Stdout); // the pair table
        Assert.Contains("demo passed", result.Stdout);
        Assert.Contains(where, result.Stdout);
        Assert.DoesNotContain("demo failed", result.Stdout);
    }

    [Fact]
    public async Task Demo_refuses_a_bad_option_with_one_sentence()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "demo", "--nat-a", "carrier-grade"), Timeout);
        output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--nat-a must be one of none, full-cone, restricted-cone, port-restricted-cone, symmetric", line);
    }
}
