using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>`p2p demo`, the README's main command, run as a real process.</summary>
public sealed class DemoCommandTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Demo_runs_stun_turn_and_relayed_messages_on_loopback_and_exits_zero()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "demo", "--messages", "50"), Timeout);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("mapped address 127.0.0.1:", result.Stdout);
        Assert.Contains("relayed address 127.0.0.1:", result.Stdout);
        Assert.Contains("'echo: hello through a Send indication'", result.Stdout);
        Assert.Contains("50/50 echoed, 50 of them in ChannelData", result.Stdout);
        Assert.Contains("relay holds no allocation", result.Stdout);
        Assert.Contains("demo passed", result.Stdout);
    }

    [Fact]
    public async Task Demo_refuses_a_bad_option_with_one_sentence()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "demo", "--messages", "0"), Timeout);
        output.WriteLine(result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--messages must be between 1 and 100000", line);
    }
}
