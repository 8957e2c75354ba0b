using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>`p2p relay` as a real process: stdout carries its own output (the listening line), its log goes to stderr.</summary>
public sealed class RelayProcessOutputTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Stdout_carries_only_the_listening_line_while_the_log_goes_to_stderr()
    {
        await using var relay = P2pProcess.Start("relay", "--listen", "127.0.0.1:0", "--user", "alice:secret");
        try
        {
            await relay.WaitForLineAsync(l => l.StartsWith("relay listening on ", StringComparison.Ordinal), Timeout);
            // the server's own INFO line about its listeners comes around the same time
            Assert.True(await relay.WaitForTranscriptAsync("ChannelData relayed on", Timeout), "the relay never logged its listeners");
            await Task.Delay(300);
            Assert.StartsWith("relay listening on udp 127.0.0.1:", Assert.Single(relay.PrintedLines(NicePeerStream.Stdout)));
            Assert.Contains(relay.PrintedLines(NicePeerStream.Stderr), l => l.Contains("ChannelData relayed on", StringComparison.Ordinal));
        }
        finally
        {
            output.WriteLine(relay.Transcript);
        }
    }
}
