using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>The `p2p relay` command line as a user meets it.</summary>
public sealed class RelayCommandLineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Relay_help_explains_the_options()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--help"), Timeout);
        output.WriteLine(result.ToString());
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--listen", "--relay-ip", "--min-port", "--max-port", "--realm", "--user", "--allow-loopback", "--allow-private",
                     "--max-allocations", "--user-quota", "--lifetime-max", "--nonce-lifetime", "--config", "--verbose" })
            Assert.Contains(option, result.Stdout);
    }

    [Fact]
    public async Task A_bad_option_gives_one_sentence_on_stderr_and_a_nonzero_exit()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--listen", "not-an-address"), Timeout);
        output.WriteLine(result.ToString());
        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("not-an-address", line);

        var number = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--min-port", "x"), Timeout);
        Assert.NotEqual(0, number.ExitCode);
        Assert.Contains("--min-port", Assert.Single(number.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task A_port_in_use_gives_one_sentence_on_stderr_and_a_nonzero_exit()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endpoint = (IPEndPoint)taken.LocalEndPoint!;
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--listen", endpoint.ToString(), "--user", "a:b"), Timeout);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"p2p relay: UDP port {endpoint.Port} on 127.0.0.1 is already in use.", result.Stderr);
    }

    [Fact]
    public async Task Relay_without_users_warns_serves_binding_and_stops_on_sigterm()
    {
        var relay = await RelayProcess.Start();
        await using var _ = relay;
        Assert.Contains("(realm p2p, no users: STUN only)", relay.Output);
        Assert.Contains("No TURN user is configured", relay.Output);

        await using var client = TurnTestClient.Udp(new IPEndPoint(IPAddress.Loopback, relay.UdpPort));
        Assert.True((await client.Request(P2P.Protocol.Stun.StunMethod.Binding)).IsSuccess);

        using var kill = Process.Start("kill", ["-TERM", relay.Process.Id.ToString()])!;
        await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await relay.Process.WaitForExitAsync(cts.Token);
        output.WriteLine(relay.Output);
        Assert.Equal(0, relay.Process.ExitCode);
    }
}
