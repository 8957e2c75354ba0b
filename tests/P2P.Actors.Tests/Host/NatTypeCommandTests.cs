using System.Text.Json;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// <c>p2p nat-type</c> as a user runs it, against a real <c>p2p relay --alt-ip 127.0.0.2</c> on loopback (127.0.0.1 and
/// 127.0.0.2 are both loopback on Linux): no NAT between them, so that is what it must say.
/// </summary>
public sealed class NatTypeCommandTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private async Task<Processes.Result> NatType(params string[] args)
    {
        var result = await Processes.Run(Processes.Dotnet([Processes.P2pDll, "nat-type", .. args]), Limit);
        output.WriteLine($"p2p nat-type {string.Join(' ', args)}\n{result}");
        Assert.False(result.TimedOut);
        return result;
    }

    [Fact]
    public async Task Against_our_relay_with_an_alternate_address_it_reports_no_nat_in_words()
    {
        await using var relay = await RelayProcess.Start("--alt-ip", "127.0.0.2");
        var result = await NatType("--stun", $"127.0.0.1:{relay.UdpPort}");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith($"Server: 127.0.0.1:{relay.UdpPort} (alternate address 127.0.0.2:", StringComparison.Ordinal));
        Assert.Contains("Mapping: no NAT (the public address is this host's own; anyone can reach it unless a firewall filters)", lines);
        Assert.Contains("Filtering: endpoint-independent (once a port is open anyone may send to it)", lines);
        Assert.Contains(lines, l => l.StartsWith("Port allocation: port-preserving", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Note:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_gives_one_object_with_the_attribute_tokens()
    {
        await using var relay = await RelayProcess.Start("--alt-ip", "127.0.0.2");
        var result = await NatType("--stun", $"127.0.0.1:{relay.UdpPort}", "--json");
        Assert.Equal(0, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Stdout);
        var root = doc.RootElement;
        Assert.Equal("none", root.GetProperty("mapping").GetString());
        Assert.Equal("eif", root.GetProperty("filtering").GetString());
        Assert.Equal("pres", root.GetProperty("portAllocation").GetString());
        Assert.Equal("127.0.0.1", root.GetProperty("publicAddress").GetString());
        Assert.StartsWith("127.0.0.2:", root.GetProperty("otherAddress").GetString());
        Assert.StartsWith("v=1 map=none filt=eif alloc=pres", root.GetProperty("attribute").GetString());
    }

    [Fact]
    public async Task A_relay_without_an_alternate_address_gives_a_partial_answer_and_says_why()
    {
        await using var relay = await RelayProcess.Start();
        var result = await NatType("--stun", $"127.0.0.1:{relay.UdpPort}");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Server: 127.0.0.1:" + relay.UdpPort + " (no alternate address)", result.Stdout);
        Assert.Contains("Note: the server 127.0.0.1:" + relay.UdpPort + " has no alternate address (no OTHER-ADDRESS in its answer)", result.Stdout);
    }

    [Fact]
    public async Task An_unreachable_server_is_one_sentence_and_exit_code_1()
    {
        using var silent = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)); // bound, never answers
        int port = ((System.Net.IPEndPoint)silent.Client.LocalEndPoint!).Port;
        var result = await NatType("--stun", $"127.0.0.1:{port}");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"p2p nat-type: STUN server 127.0.0.1:{port} did not answer (3 requests over 2.75 s); check the address and that UDP is not blocked.", result.Stderr.Trim());
        Assert.Equal(string.Empty, result.Stdout.Trim());
    }

    [Fact]
    public async Task Timeout_ends_a_run_that_has_not_finished_with_a_sentence()
    {
        using var silent = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        int port = ((System.Net.IPEndPoint)silent.Client.LocalEndPoint!).Port;
        var result = await NatType("--stun", $"127.0.0.1:{port}", "--timeout", "1", "--json");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("p2p nat-type: discovery did not finish within 1 s (--timeout).", result.Stderr.Trim());
        Assert.Equal("{\"error\":\"discovery did not finish within 1 s (--timeout)\"}", result.Stdout.Trim());
    }

    [Theory]
    [InlineData("--stun 127.0.0.1:99999", "p2p nat-type: --stun '127.0.0.1:99999' has no valid port (1-65535).")]
    [InlineData("--stun 127.0.0.1 --timeout 0", "p2p nat-type: --timeout expects a positive whole number of seconds, not '0'. See 'p2p nat-type --help'.")]
    [InlineData("", "p2p nat-type: Option '--stun' is required. See 'p2p nat-type --help'.")]
    public async Task Bad_options_are_one_sentence_and_exit_code_2(string args, string message)
    {
        var result = await NatType(args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(message, result.Stderr.Trim());
    }
}
