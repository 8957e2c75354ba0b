using System.Net;
using System.Net.Sockets;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>`p2p signal` as a real process: its stdout carries only its own output, and a port in use is one sentence.</summary>
public sealed class SignalProcessOutputTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Stdout_carries_only_the_listening_line_and_the_chat_page_line_while_the_log_goes_to_stderr()
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        try
        {
            await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ", StringComparison.Ordinal), Timeout);
            // the cluster's start-up lines (remoting, singleton, coordinator) are logged around the listening line:
            // wait for the last of them, wherever it goes
            const string coordinator = "ShardCoordinator was moved to the active state";
            Assert.True(await signal.WaitForTranscriptAsync(coordinator, Timeout), "the cluster never logged its coordinator's start");
            await Task.Delay(500);
            var printed = signal.PrintedLines(NicePeerStream.Stdout);
            Assert.Equal(2, printed.Count);
            Assert.StartsWith("signal listening on ws://127.0.0.1:", printed[0]);
            Assert.Equal($"chat page at {new UriBuilder(printed[0]["signal listening on ".Length..]) { Scheme = "http" }.Uri}?room=<name>", printed[1]);
            Assert.Contains(signal.PrintedLines(NicePeerStream.Stderr), l => l.Contains(coordinator, StringComparison.Ordinal));
        }
        finally
        {
            output.WriteLine(signal.Transcript);
        }
    }

    [Fact]
    public async Task A_port_in_use_is_one_sentence_on_stderr_nothing_on_stdout_and_exit_1()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "signal", "--listen", $"127.0.0.1:{port}"), Timeout);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(string.Empty, result.Stdout);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"p2p signal: cannot listen on 127.0.0.1:{port}: the address is already in use.", line);
    }
}
