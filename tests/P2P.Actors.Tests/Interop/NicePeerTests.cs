using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Interop;

/// <summary>
/// The libnice stand-in for the original program (tests/interop/nice-peer) against itself: proof that it
/// behaves as the original C program does on the wire, before `p2p` is tested against it.
/// Everything runs on 127.0.0.1.
/// </summary>
public sealed class NicePeerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task NoIce_server_and_client_chat_both_ways_over_tcp()
    {
        var (server, port) = await StartNoIceServerAsync();
        await using var _ = server;
        await using var client = await NicePeer.StartAsync("--no-ice", "-c", "127.0.0.1", "-p", port.ToString());
        try
        {
            await server.WaitForLineAsync(l => l == "Connected", Step);
            await client.WaitForLineAsync(l => l == "Connected", Step);

            await client.WriteLineAsync("hello");
            Assert.Equal("Received: hello", await server.WaitForLineAsync(l => l.StartsWith("Received: "), Step));
            await server.WriteLineAsync("hello back");
            Assert.Equal("Received: hello back", await client.WaitForLineAsync(l => l.StartsWith("Received: "), Step));

            // stdin EOF closes the socket and exits 0; the other side reports the close and exits 0 too.
            client.CloseStdin();
            Assert.Equal(0, await client.WaitForExitAsync(Step));
            await server.WaitForLineAsync(l => l == "Connection closed by peer", Step);
            Assert.Equal(0, await server.WaitForExitAsync(Step));
        }
        finally
        {
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
        }
    }

    [Fact]
    public async Task Ice_server_and_client_exchange_descriptions_connect_and_send_datagrams_both_ways()
    {
        await using var server = await NicePeer.StartAsync("-s", "--timeout", "60");
        await using var client = await NicePeer.StartAsync("--timeout", "60");
        try
        {
            var serverDescription = await server.ReadLocalDescriptionAsync(Step);
            var clientDescription = await client.ReadLocalDescriptionAsync(Step);
            await client.WriteRemoteDescriptionAsync(serverDescription);
            await server.WriteRemoteDescriptionAsync(clientDescription);

            await server.WaitForLineAsync(l => l == "Connected", TimeSpan.FromSeconds(70));
            await client.WaitForLineAsync(l => l == "Connected", TimeSpan.FromSeconds(70));

            for (int i = 1; i <= 3; i++)
            {
                await server.WriteLineAsync($"hello from server {i}");
                Assert.Equal($"Received: hello from server {i}", await client.WaitForLineAsync(l => l.StartsWith("Received: "), Step));
                await client.WriteLineAsync($"hello from client {i}");
                Assert.Equal($"Received: hello from client {i}", await server.WaitForLineAsync(l => l.StartsWith("Received: "), Step));
            }

            // stdin EOF after connecting: a short wait for datagrams in flight, then exit 0.
            server.CloseStdin();
            client.CloseStdin();
            Assert.Equal(0, await server.WaitForExitAsync(Step));
            Assert.Equal(0, await client.WaitForExitAsync(Step));
        }
        finally
        {
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
        }
    }

    [Theory]
    [InlineData("this is not a description")]
    [InlineData("m=- 9 ICE/SDP\nc=IN IP4 127.0.0.1\na=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuvwx\na=candidate:1 1 UDP 12 999.0.0.1 9 typ host")]
    [InlineData("m=- 9 ICE/SDP\nc=IN IP4 127.0.0.1\na=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuvwx\na=candidate:1 1 UDP 12 127.0.0.1 9 typ bogus")]
    // (libnice reads a non-numeric priority as 0 and accepts the candidate, so that is no malformed case.)
    public async Task A_malformed_remote_description_makes_it_exit_non_zero_with_a_message(string block)
    {
        await using var peer = await NicePeer.StartAsync("-s");
        try
        {
            await peer.ReadLocalDescriptionAsync(Step);
            await peer.WriteRemoteDescriptionAsync(block);
            Assert.NotEqual(0, await peer.WaitForExitAsync(Step));
            Assert.Contains("Could not parse the remote description", peer.Transcript);
            Assert.DoesNotContain("out| Connected", peer.Transcript);
        }
        finally
        {
            output.WriteLine(peer.Transcript);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_printed_description_has_the_shape_of_the_originals(bool serverSide)
    {
        await using var peer = await NicePeer.StartAsync(serverSide ? ["-s"] : []);
        try
        {
            var description = await peer.ReadLocalDescriptionAsync(Step);
            output.WriteLine(description);
            var lines = description.TrimEnd('\n').Split('\n');

            Assert.Matches(@"^m=- \d+ ICE/SDP$", lines[0]);
            Assert.Equal("c=IN IP4 127.0.0.1", lines[1]);
            Assert.Single(lines, l => Regex.IsMatch(l, @"^a=ice-ufrag:\S{4,}$"));
            Assert.Single(lines, l => Regex.IsMatch(l, @"^a=ice-pwd:\S{22,}$"));

            var candidates = lines.Where(l => l.StartsWith("a=candidate:")).ToArray();
            Assert.All(candidates, c => Assert.Matches(@"^a=candidate:\S+ 1 (UDP|TCP) \d+ 127\.0\.0\.1 \d+ typ host( tcptype (active|passive))?$", c));
            Assert.Contains(candidates, c => Regex.IsMatch(c, @" 1 UDP \d+ 127\.0\.0\.1 \d+ typ host$"));
            Assert.Contains(candidates, c => Regex.IsMatch(c, @" 1 TCP \d+ 127\.0\.0\.1 9 typ host tcptype active$"));
            Assert.Contains(candidates, c => Regex.IsMatch(c, @" 1 TCP \d+ 127\.0\.0\.1 \d+ typ host tcptype passive$"));
            Assert.All(lines, l => Assert.Matches(@"^(m=|c=|a=)", l));

        }
        finally
        {
            output.WriteLine(peer.Transcript);
        }
    }

    [Fact]
    public async Task Relay_only_peers_print_only_relay_candidates_and_chat_through_coturn()
    {
        await using var turn = await CoturnServer.StartAsync();
        string[] relay =
        [
            "--relay-only", "--turn", "127.0.0.1", "--turn-port", turn.EndPoint.Port.ToString(),
            "--turn-user", turn.Username, "--turn-pass", turn.Password, "--timeout", "60",
        ];
        await using var server = await NicePeer.StartAsync(["-s", .. relay]);
        await using var client = await NicePeer.StartAsync(relay);
        try
        {
            var serverDescription = await server.ReadLocalDescriptionAsync(Step);
            var clientDescription = await client.ReadLocalDescriptionAsync(Step);
            foreach (var description in new[] { serverDescription, clientDescription })
            {
                var candidates = description.Split('\n').Where(l => l.StartsWith("a=candidate:")).ToArray();
                Assert.NotEmpty(candidates);
                Assert.All(candidates, c => Assert.Matches(@" UDP \d+ 127\.0\.0\.1 (\d+) typ relay raddr ", c));
            }
            await client.WriteRemoteDescriptionAsync(serverDescription);
            await server.WriteRemoteDescriptionAsync(clientDescription);
            await server.WaitForLineAsync(l => l == "Connected", TimeSpan.FromSeconds(70));
            await client.WaitForLineAsync(l => l == "Connected", TimeSpan.FromSeconds(70));

            await server.WriteLineAsync("relayed hello");
            Assert.Equal("Received: relayed hello", await client.WaitForLineAsync(l => l.StartsWith("Received: "), Step));
            await client.WriteLineAsync("relayed reply");
            Assert.Equal("Received: relayed reply", await server.WaitForLineAsync(l => l.StartsWith("Received: "), Step));
        }
        finally
        {
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
            output.WriteLine(turn.Log);
        }
    }

    [Fact]
    public async Task Help_lists_every_option_with_its_default()
    {
        await using var peer = await NicePeer.StartAsync("--help");
        Assert.Equal(0, await peer.WaitForExitAsync(Step));
        var text = peer.Transcript;
        output.WriteLine(text);
        foreach (var option in new[] { "-s", "-p <port>", "-c <ip>", "--no-ice", "--stun <server>", "--stun-port", "--turn <server>", "--turn-port", "--turn-user", "--turn-pass", "--local-address", "--relay-only", "--timeout", "--help" })
            Assert.Contains(option, text);
        foreach (var value in new[] { "8080", "127.0.0.1", "19302", "3478", "30" })
            Assert.Contains($"default {value}", text);
    }

    [Fact]
    public async Task An_unknown_option_is_refused_with_a_sentence_and_a_non_zero_exit()
    {
        await using var peer = await NicePeer.StartAsync("--bogus");
        Assert.NotEqual(0, await peer.WaitForExitAsync(Step));
        Assert.Contains("err| Unknown option --bogus. See --help.", peer.Transcript);
    }

    /// <summary>A --no-ice server on a free port, retried if another process took the port in between.</summary>
    private static async Task<(NicePeer Server, int Port)> StartNoIceServerAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = NicePeer.FindFreeTcpPort();
            var server = await NicePeer.StartAsync("-s", "--no-ice", "-p", port.ToString());
            try
            {
                await server.WaitForLineAsync(l => l == $"Listening on 0.0.0.0:{port}", Step, NicePeerStream.Stderr);
                return (server, port);
            }
            catch (Exception) when (attempt < 3)
            {
                await server.DisposeAsync();
            }
        }
    }
}
