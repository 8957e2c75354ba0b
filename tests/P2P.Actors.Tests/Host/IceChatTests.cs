using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// <c>p2p</c> in ICE mode as a real process, descriptions exchanged by hand through its stdin and stdout (F5, F6,
/// F9): against the libnice stand-in of the original program with <c>--plain</c>, and against itself encrypted.
/// Host candidates on 127.0.0.1 only (<c>--stun none --local-address 127.0.0.1</c>): no outside server.
/// </summary>
public sealed class IceChatTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string[] Loopback = ["--stun", "none", "--local-address", "127.0.0.1"];

    private static P2pProcess StartP2p(params string[] args) => P2pProcess.Start([.. args, .. Loopback]);

    /// <summary>Each side gets the other's block; both print Connected.</summary>
    private static async Task ExchangeAsync(InteractiveProcess a, InteractiveProcess b)
    {
        var blockA = await a.ReadLocalDescriptionAsync(Wait);
        var blockB = await b.ReadLocalDescriptionAsync(Wait);
        await a.WriteRemoteDescriptionAsync(blockB);
        await b.WriteRemoteDescriptionAsync(blockA);
        await a.WaitForLineAsync(l => l == "Connected", Wait);
        await b.WaitForLineAsync(l => l == "Connected", Wait);
    }

    private static async Task ChatAsync(InteractiveProcess a, InteractiveProcess b)
    {
        await a.WriteLineAsync("hello from a");
        await b.WaitForLineAsync(l => l == "Received: hello from a", Wait);
        await b.WriteLineAsync("hello from b, with ünïcödé");
        await a.WaitForLineAsync(l => l == "Received: hello from b, with ünïcödé", Wait);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Plain_p2p_chats_with_the_original_program_in_ICE_mode(bool p2pIsServer)
    {
        await using var p2p = p2pIsServer ? StartP2p("-s", "--plain") : StartP2p("--plain");
        await using var original = p2pIsServer
            ? await NicePeer.StartAsync("--local-address", "127.0.0.1")
            : await NicePeer.StartAsync("-s", "--local-address", "127.0.0.1");
        try
        {
            await ExchangeAsync(p2p, original);
            await ChatAsync(p2p, original);
            await ChatAsync(original, p2p);
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
            output.WriteLine(original.Transcript);
        }
    }

    [Fact]
    public async Task Two_p2p_programs_chat_encrypted_after_a_manual_exchange_and_one_leaving_ends_the_other()
    {
        var log = Path.Combine(Path.GetTempPath(), $"p2p-log-{Guid.NewGuid():N}.json");
        await using var server = StartP2p("-s", "--log", log, "--log-json");
        await using var client = StartP2p();
        try
        {
            var blockServer = await server.ReadLocalDescriptionAsync(Wait);
            Assert.Contains("a=fingerprint:sha-256 ", blockServer);
            Assert.StartsWith("m=", blockServer); // libnice's layout: the original can read it too
            await ExchangeAsync2(server, client, blockServer);
            await server.WaitForLineAsync(l => l.Contains("encrypted (DTLS)", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            await ChatAsync(server, client);
            for (int i = 0; i < 20; i++) await client.WriteLineAsync($"line {i}");
            for (int i = 0; i < 20; i++) await server.WaitForLineAsync(l => l == $"Received: line {i}", Wait);

            client.CloseStdin(); // the user ends the chat: the other side is told
            Assert.Equal(0, await client.WaitForExitAsync(Wait));
            await server.WaitForLineAsync(l => l == "Connection closed by peer", Wait);
            Assert.Equal(0, await server.WaitForExitAsync(Wait));

            // --log-json: one JSON event per line, the session's own events carry its id
            var events = File.ReadAllLines(log).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            var sessionEvents = events.Where(e => e.TryGetProperty("SessionId", out var id) && id.GetString() == "chat").ToList();
            Assert.Contains(sessionEvents, e => e.GetProperty("@mt").GetString()!.Contains("connected over", StringComparison.Ordinal));
            Assert.Contains(sessionEvents, e => e.GetProperty("@mt").GetString()!.Contains("DTLS", StringComparison.Ordinal));
            Assert.All(sessionEvents, e => Assert.Equal("me", e.GetProperty("Peer").GetString()));
        }
        finally
        {
            File.Delete(log);
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
        }
    }

    private static async Task ExchangeAsync2(InteractiveProcess a, InteractiveProcess b, string blockA)
    {
        var blockB = await b.ReadLocalDescriptionAsync(Wait);
        // pasted with Windows line ends and blank lines before it: tolerated
        await a.WriteLineAsync("");
        await a.WriteRemoteDescriptionAsync(blockB.Replace("\n", "\r\n"));
        await b.WriteRemoteDescriptionAsync(blockA);
        await a.WaitForLineAsync(l => l == "Connected", Wait);
        await b.WaitForLineAsync(l => l == "Connected", Wait);
    }

    [Fact]
    public async Task Without_plain_a_peer_without_fingerprint_is_refused_with_a_sentence_that_says_what_would_connect()
    {
        await using var p2p = StartP2p("-s");
        await using var original = await NicePeer.StartAsync("--local-address", "127.0.0.1", "--timeout", "10");
        try
        {
            var ours = await p2p.ReadLocalDescriptionAsync(Wait);
            var theirs = await original.ReadLocalDescriptionAsync(Wait);
            await p2p.WriteRemoteDescriptionAsync(theirs);
            await original.WriteRemoteDescriptionAsync(ours);
            var sentence = await p2p.WaitForLineAsync(l => l.Contains("--plain", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Contains("original plain program", sentence);
            Assert.NotEqual(0, await p2p.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }

    [Fact]
    public async Task A_malformed_pasted_description_names_the_wrong_line_and_a_good_paste_then_connects()
    {
        await using var server = StartP2p("-s", "--plain");
        await using var client = StartP2p("--plain");
        try
        {
            var blockServer = await server.ReadLocalDescriptionAsync(Wait);
            var blockClient = await client.ReadLocalDescriptionAsync(Wait);
            await server.WriteRemoteDescriptionAsync("a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\na=candidate:1 1 UDP notanumber 127.0.0.1 5000 typ host\n");
            var complaint = await server.WaitForLineAsync(l => l.Contains("wrong at line 3", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Contains("a=candidate:1 1 UDP notanumber", complaint);
            await server.WriteRemoteDescriptionAsync(blockClient);
            await client.WriteRemoteDescriptionAsync(blockServer);
            await server.WaitForLineAsync(l => l == "Connected", Wait);
            await client.WaitForLineAsync(l => l == "Connected", Wait);
            await ChatAsync(client, server);
        }
        finally
        {
            output.WriteLine(server.Transcript);
        }
    }

    [Fact]
    public async Task No_working_pair_gives_up_after_the_timeout_with_a_sentence_and_a_non_zero_exit()
    {
        await using var p2p = StartP2p("-s", "--plain", "--timeout", "3");
        try
        {
            await p2p.ReadLocalDescriptionAsync(Wait);
            // a peer that does not exist: a port nobody listens on
            await p2p.WriteRemoteDescriptionAsync("a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\na=candidate:1 1 UDP 2130706431 127.0.0.1 9 typ host\n");
            var sentence = await p2p.WaitForLineAsync(l => l.Contains("failed to connect", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Contains("--turn", sentence);
            Assert.Equal(1, await p2p.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }

    [Fact]
    public async Task A_file_sent_from_the_chat_arrives_with_the_same_sha256_and_a_missing_file_is_one_sentence()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-ice-file-");
        try
        {
            var source = Path.Combine(folder.FullName, "report.bin");
            var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
            await File.WriteAllBytesAsync(source, bytes);
            var downloads = Directory.CreateDirectory(Path.Combine(folder.FullName, "downloads")).FullName;
            await using var server = StartP2p("-s", "--download-dir", downloads);
            await using var client = StartP2p();
            try
            {
                await ExchangeAsync(server, client);
                await client.WriteLineAsync("/send " + Path.Combine(folder.FullName, "missing.bin"));
                await client.WaitForLineAsync(l => l.StartsWith("p2p: file", StringComparison.Ordinal) && l.Contains("missing.bin", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);

                await client.WriteLineAsync("/send " + source);
                var offer = await server.WaitForLineAsync(l => l.StartsWith("the peer offers 'report.bin'", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                var id = System.Text.RegularExpressions.Regex.Match(offer, @"/accept (\S+)").Groups[1].Value;
                await server.WriteLineAsync($"/accept {id}");
                var done = await server.WaitForLineAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                var received = Path.Combine(downloads, "report.bin");
                Assert.Contains(received, done);
                Assert.Equal(System.Security.Cryptography.SHA256.HashData(bytes), System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(received)));
                Assert.Contains(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant(), done);
                // the chat goes on after the transfer
                await ChatAsync(client, server);
            }
            finally
            {
                output.WriteLine(server.Transcript);
                output.WriteLine(client.Transcript);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Two_p2p_programs_meet_through_p2p_signal_and_chat_encrypted()
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://127.0.0.1:", StringComparison.Ordinal), Wait);
        var url = listening["signal listening on ".Length..].Trim();
        await using var alice = StartP2p("--signal", url, "--room", "lunch");
        await alice.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr); // first in the room
        await using var bob = StartP2p("--signal", url, "--room", "lunch");
        try
        {
            await alice.WaitForLineAsync(l => l == "Connected", Wait);
            await bob.WaitForLineAsync(l => l == "Connected", Wait);
            await alice.WaitForLineAsync(l => l.Contains("encrypted (DTLS)", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            // each side times its own connect from the moment it knew both were in the room (the NAT lab's figure)
            foreach (var side in new[] { alice, bob })
            {
                var timed = await side.WaitForLineAsync(l => l.StartsWith("Connected ", StringComparison.Ordinal) && l.EndsWith(" ms after both peers were in the room.", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                int ms = int.Parse(timed["Connected ".Length..timed.IndexOf(' ', "Connected ".Length)], System.Globalization.CultureInfo.InvariantCulture);
                Assert.InRange(ms, 0, (int)Wait.TotalMilliseconds);
            }
            await ChatAsync(alice, bob);
            await ChatAsync(bob, alice);
        }
        finally
        {
            output.WriteLine(alice.Transcript);
            output.WriteLine(bob.Transcript);
            output.WriteLine(signal.Transcript);
        }
    }

    [Fact]
    public async Task An_unreachable_signaling_server_is_one_sentence_and_a_non_zero_exit()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var p2p = StartP2p("--signal", $"ws://127.0.0.1:{port}/", "--room", "lunch");
        var sentence = await p2p.WaitForLineAsync(l => l.StartsWith("p2p: ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        Assert.Contains("signaling server", sentence);
        Assert.Equal(1, await p2p.WaitForExitAsync(Wait));
    }
}
