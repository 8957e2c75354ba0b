using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// How real <c>p2p</c> processes stop and close: Ctrl+C and SIGTERM at every prompt, the other
/// side told at once, the end of input during a transfer, a session closed by its remote ending here too. The other
/// side's consent timeout is set far beyond the tests' waits, so only the close itself can end it in time.
/// </summary>
public sealed class StopAndCloseTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string[] Loopback = ["--stun", "none", "--local-address", "127.0.0.1"];

    /// <summary>Consent would only be lost after 5 minutes: anything that ends sooner was told.</summary>
    private static readonly Dictionary<string, string> SlowConsent = new() { ["P2P__ICE__CONSENT_TIMEOUT"] = "300s" };

    /// <summary>File chunks of 1 KiB, one in flight: a few MiB take seconds, long enough to stop in the middle.</summary>
    private static readonly Dictionary<string, string> SlowFiles = new(SlowConsent) { ["P2P__CHAT__CHUNK_SIZE"] = "1024", ["P2P__CHAT__WINDOW"] = "1" };

    /// <summary>
    /// Starts p2p with SIGINT's default action restored: a test runner started in the background (as a shell starts
    /// `cmd &amp;`) ignores SIGINT, its children inherit that, and .NET then rightly leaves SIGINT ignored, as nohup'd
    /// programs do; a user's terminal does not.
    /// </summary>
    private static P2pProcess Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment) =>
        P2pProcess.StartThrough("env", ["--default-signal=INT"], args, environment);

    private static P2pProcess StartChat(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start([.. args, .. Loopback], environment);

    private static async Task ConnectAsync(InteractiveProcess a, InteractiveProcess b)
    {
        var blockA = await a.ReadLocalDescriptionAsync(Wait);
        var blockB = await b.ReadLocalDescriptionAsync(Wait);
        await a.WriteRemoteDescriptionAsync(blockB);
        await b.WriteRemoteDescriptionAsync(blockA);
        await a.WaitForLineAsync(l => l == "Connected", Wait);
        await b.WaitForLineAsync(l => l == "Connected", Wait);
    }

    /// <summary>
    /// stdout carries only what the ICE chat itself says: its description block, Connected, received lines and the
    /// peer's leaving; no log line of Akka's or ours (CoordinatedShutdown, dead letters, TURN releases).
    /// </summary>
    private static void AssertOnlyChatOutput(InteractiveProcess chat)
    {
        Assert.All(chat.PrintedLines(NicePeerStream.Stdout), l => Assert.Matches(@"^(m=|c=|a=|$|Connected$|Received: |Connection closed by peer$)", l));
    }

    /// <summary>
    /// Connects the two chats, has <paramref name="sender"/> offer a new file of <paramref name="size"/> random bytes and
    /// <paramref name="receiver"/> accept it, and returns once the receiver shows progress: the file's id and bytes.
    /// </summary>
    private static async Task<(string Id, byte[] Bytes)> StartTransferAsync(InteractiveProcess receiver, InteractiveProcess sender, string folder, string name, int size)
    {
        await ConnectAsync(receiver, sender);
        var source = Path.Combine(folder, name);
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(size);
        await File.WriteAllBytesAsync(source, bytes);
        await sender.WriteLineAsync($"/send {source}");
        var offer = await receiver.WaitForLineAsync(l => l.Contains($"offers '{name}'", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        var id = System.Text.RegularExpressions.Regex.Match(offer, @"/accept (\S+)").Groups[1].Value;
        await receiver.WriteLineAsync($"/accept {id}");
        await receiver.WaitForLineAsync(l => l.StartsWith($"file {id}: ", StringComparison.Ordinal) && l.Contains("% (", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        return (id, bytes);
    }

    [Theory]
    [InlineData(PosixSignalNumber.SIGINT)]
    [InlineData(PosixSignalNumber.SIGTERM)]
    public async Task P2p_host_stops_on_a_signal_at_its_prompt(PosixSignalNumber signal)
    {
        await using var host = Start(["host", "--local-address", "127.0.0.1"], SlowConsent);
        try
        {
            await host.WaitForLineAsync(l => l.StartsWith("p2p host: type help", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("peer add alice");
            await host.WaitForLineAsync(l => l.StartsWith("peer alice bound", StringComparison.Ordinal), Wait);
            host.Signal(signal);
            Assert.Equal(130, await host.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(host.Transcript);
        }
    }

    [Theory]
    [InlineData("relay --listen 127.0.0.1:0 --user alice:secret", "relay listening on", PosixSignalNumber.SIGINT)]
    [InlineData("relay --listen 127.0.0.1:0 --user alice:secret", "relay listening on", PosixSignalNumber.SIGTERM)]
    [InlineData("signal --listen 127.0.0.1:0", "signal listening on", PosixSignalNumber.SIGINT)]
    [InlineData("signal --listen 127.0.0.1:0", "signal listening on", PosixSignalNumber.SIGTERM)]
    [InlineData("demo", "relay (STUN + TURN): listening", PosixSignalNumber.SIGINT)]
    [InlineData("demo", "relay (STUN + TURN): listening", PosixSignalNumber.SIGTERM)]
    public async Task The_relay_the_signaling_server_and_the_demo_stop_on_a_signal(string command, string started, PosixSignalNumber signal)
    {
        await using var p2p = Start(command.Split(' '), SlowConsent);
        try
        {
            await p2p.WaitForLineAsync(l => l.Contains(started, StringComparison.Ordinal), Wait);
            p2p.Signal(signal);
            int exit = await p2p.WaitForExitAsync(Wait);
            Assert.True(exit is 0 or 130, $"exit code {exit}: neither a clean stop nor an interrupted one");
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }

    [Fact]
    public async Task A_second_Ctrl_C_ends_a_stop_that_waits_for_a_TURN_server_at_once()
    {
        RelayProcess? relay = await RelayProcess.Start("--user", "alice:secret", "--allow-loopback");
        // the release may wait 60 s for a server that went away, and the stop 120 s: only the second signal ends it sooner
        var environment = new Dictionary<string, string>(SlowConsent) { ["P2P__TURN_CLIENT__RELEASE_TIMEOUT"] = "60s", ["P2P__STOP_TIMEOUT"] = "120s" };
        await using var host = Start(["host", "--local-address", "127.0.0.1", "--turn", "127.0.0.1", "--turn-port", relay.UdpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--turn-user", "alice", "--turn-pass", "secret"], environment);
        try
        {
            await host.WriteLineAsync("peer add alice");
            await host.WaitForLineAsync(l => l.StartsWith("peer alice bound", StringComparison.Ordinal), Wait);
            for (var waited = TimeSpan.Zero; !relay.Output.Contains(" relays on ", StringComparison.Ordinal); waited += TimeSpan.FromMilliseconds(100))
            {
                if (waited > Wait) throw new TimeoutException($"no allocation was made:\n{relay.Output}");
                await Task.Delay(100);
            }
            await relay.DisposeAsync();               // the TURN server goes away with the allocation: its release gets no answer
            relay = null;

            host.Signal(PosixSignalNumber.SIGINT);
            await Task.Delay(TimeSpan.FromSeconds(1)); // stopping: waiting for the server
            Assert.False(host.HasExited, "the first Ctrl+C should wait for the TURN server to confirm the release");
            host.Signal(PosixSignalNumber.SIGINT);
            Assert.Equal(130, await host.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            Assert.Contains("p2p host: stopped at once (second SIGINT).", host.Transcript);
        }
        finally
        {
            if (relay is not null) await relay.DisposeAsync();
            output.WriteLine(host.Transcript);
        }
    }

    [Theory]
    [InlineData(PosixSignalNumber.SIGINT)]
    [InlineData(PosixSignalNumber.SIGTERM)]
    public async Task The_ICE_chat_stops_on_a_signal_while_it_waits_for_the_pasted_description(PosixSignalNumber signal)
    {
        await using var chat = StartChat(SlowConsent, "-s");
        try
        {
            await chat.ReadLocalDescriptionAsync(Wait);
            await chat.WaitForLineAsync(l => l.StartsWith("Paste the remote description", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            chat.Signal(signal);
            Assert.Equal(130, await chat.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(chat.Transcript);
        }
    }

    [Fact]
    public async Task Ctrl_C_in_the_middle_of_a_chat_tells_the_peer_which_says_so_and_exits_0()
    {
        await using var server = StartChat(SlowConsent, "-s");
        await using var client = StartChat(SlowConsent);
        try
        {
            await ConnectAsync(server, client);
            await client.WriteLineAsync("before the interrupt");
            await server.WaitForLineAsync(l => l == "Received: before the interrupt", Wait);

            client.Signal(PosixSignalNumber.SIGINT);
            Assert.Equal(130, await client.WaitForExitAsync(Wait));
            await server.WaitForLineAsync(l => l == "Connection closed by peer", Wait);
            Assert.Equal(0, await server.WaitForExitAsync(Wait));
            Assert.DoesNotContain("consent", server.Transcript, StringComparison.OrdinalIgnoreCase);
            AssertOnlyChatOutput(server);
            AssertOnlyChatOutput(client);
        }
        finally
        {
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
        }
    }

    [Fact]
    public async Task Ctrl_C_in_the_middle_of_a_transfer_tells_the_receiver_how_far_it_got_and_that_the_part_is_kept()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-stop-");
        var downloads = Directory.CreateDirectory(Path.Combine(folder.FullName, "in")).FullName;
        await using var receiver = StartChat(SlowFiles, "-s", "--download-dir", downloads);
        await using var sender = StartChat(SlowFiles);
        try
        {
            var (id, _) = await StartTransferAsync(receiver, sender, folder.FullName, "big.bin", 16 * 1024 * 1024);

            sender.Signal(PosixSignalNumber.SIGINT);
            Assert.Equal(130, await sender.WaitForExitAsync(Wait));
            var stopped = await receiver.WaitForLineAsync(l => l.StartsWith($"p2p: file {id}: 'big.bin' stopped after ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Contains("the peer left", stopped);
            Assert.Contains("big.bin.part is kept", stopped);
            await receiver.WaitForLineAsync(l => l == "Connection closed by peer", Wait);
            Assert.Equal(0, await receiver.WaitForExitAsync(Wait));
            Assert.True(File.Exists(Path.Combine(downloads, "big.bin.part")));
            Assert.False(File.Exists(Path.Combine(downloads, "big.bin")));
        }
        finally
        {
            output.WriteLine(receiver.Transcript);
            output.WriteLine(sender.Transcript);
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_end_of_input_during_a_transfer_finishes_the_transfer_before_closing()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-eof-");
        var downloads = Directory.CreateDirectory(Path.Combine(folder.FullName, "in")).FullName;
        await using var receiver = StartChat(SlowFiles, "-s", "--download-dir", downloads);
        await using var sender = StartChat(SlowFiles);
        try
        {
            // 8 MiB at one 1 KiB chunk in flight: several seconds, so that the input ends while the file is on its way (at
            // 2 MiB it was 59 % across when its first progress line came, and a busy CI machine closed stdin after the end)
            var (id, bytes) = await StartTransferAsync(receiver, sender, folder.FullName, "report.bin", 8 * 1024 * 1024 + 5);

            sender.CloseStdin(); // the user's input ends while the file is on its way
            await sender.WaitForLineAsync(l => l.Contains("input ended; closing once the file transfer under way finishes", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Equal(0, await sender.WaitForExitAsync(Wait));
            await receiver.WaitForLineAsync(l => l.StartsWith($"file {id}: done", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            await receiver.WaitForLineAsync(l => l == "Connection closed by peer", Wait);
            Assert.Equal(0, await receiver.WaitForExitAsync(Wait));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(downloads, "report.bin")));
            AssertOnlyChatOutput(sender);
            AssertOnlyChatOutput(receiver);
            Assert.False(File.Exists(Path.Combine(downloads, "report.bin.part")));
        }
        finally
        {
            output.WriteLine(receiver.Transcript);
            output.WriteLine(sender.Transcript);
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_session_closed_by_its_remote_ends_here_its_row_says_closed_then_goes()
    {
        var environment = new Dictionary<string, string>(SlowConsent) { ["P2P__CONSOLE__CLOSED_ROW_LINGER"] = "5s" };
        await using var host = P2pProcess.Start(["host", "--local-address", "127.0.0.1"], environment: environment);
        try
        {
            await host.WriteLineAsync("peer add alice");
            await host.WriteLineAsync("peer add bob");
            await host.WaitForLineAsync(l => l.StartsWith("peer bob bound", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("open alice bob");
            var connected = new HashSet<string>(); // either side may say so first
            await host.WaitForLineAsync(l => (l.StartsWith("[alice-bob-1] connected over", StringComparison.Ordinal) || l.StartsWith("[bob-alice-1] connected over", StringComparison.Ordinal))
                && connected.Add(l[..13]) && connected.Count == 2, Wait);

            await host.WriteLineAsync("close bob-alice-1");
            await host.WaitForLineAsync(l => l == "[alice-bob-1] the peer closed the DTLS association", Wait);
            await host.WriteLineAsync("sessions");
            var row = await host.WaitForLineAsync(l => l.Contains("alice-bob-1", StringComparison.Ordinal) && l.Contains("│", StringComparison.Ordinal), Wait);
            Assert.Contains("closed by peer", row);

            await Task.Delay(TimeSpan.FromSeconds(6)); // past the linger
            await host.WriteLineAsync("sessions");
            await host.WaitForLineAsync(l => l == "no sessions: open <peer> <remote>", Wait);
            await host.WriteLineAsync("stats");
            var stats = await host.WaitForLineAsync(l => l.StartsWith("stats: ", StringComparison.Ordinal), Wait);
            Assert.Contains("0 sessions", stats);
            await host.WriteLineAsync("quit");
            Assert.Equal(0, await host.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(host.Transcript);
        }
    }
}
