using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary><c>p2p host</c> as a real process driven through stdin: two local peers, a session between them, its tables and a line.</summary>
public sealed class HostConsoleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Help_lists_every_console_command()
    {
        await using var host = P2pProcess.Start("host", "--local-address", "127.0.0.1");
        try
        {
            await host.WriteLineAsync("help");
            // each command at the start of its own line, with its arguments, then what it does
            var commands = new[]
            {
                "peer add <name>", "peers", "open <peer> <remote>", "open <peer> room:<name>", "sessions", "pairs <session>", "say <session> <text>",
                "send <session> <path>", "accept <session> <id> [overwrite]", "reject <session> <id>", "close <session>", "help", "quit",
            };
            var seen = new HashSet<string>();
            await host.WaitForLineAsync(l =>
            {
                foreach (var command in commands)
                    if (System.Text.RegularExpressions.Regex.IsMatch(l, $@"^\s*{System.Text.RegularExpressions.Regex.Escape(command)}\s{{2,}}\S")) seen.Add(command);
                return seen.Count == commands.Length;
            }, Wait);
            await host.WriteLineAsync("quit");
            Assert.Equal(0, await host.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(host.Transcript);
        }
    }

    [Fact]
    public async Task Peers_and_a_secure_session_are_managed_from_typed_commands()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-host-");
        var downloads = Directory.CreateDirectory(Path.Combine(folder.FullName, "downloads")).FullName;
        await using var host = P2pProcess.Start("host", "--local-address", "127.0.0.1", "--download-dir", downloads);
        try
        {
            await host.WriteLineAsync("peer add alice");
            await host.WaitForLineAsync(l => l.StartsWith("peer alice bound 127.0.0.1:", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("peer add bob");
            await host.WaitForLineAsync(l => l.StartsWith("peer bob bound", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("peer add bob");
            await host.WaitForLineAsync(l => l.Contains("peer bob not added: a peer named 'bob' already exists", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("open alice carol");
            await host.WaitForLineAsync(l => l.Contains("cannot open alice -> carol: both must be local peers", StringComparison.Ordinal), Wait);

            await host.WriteLineAsync("open alice bob");
            var connected = new HashSet<string>();
            await host.WaitForLineAsync(l =>
            {
                // either side may be first
                if (l.StartsWith("[alice-bob-1] connected over host 127.0.0.1:", StringComparison.Ordinal) && l.EndsWith("(DTLS)", StringComparison.Ordinal)) connected.Add("a");
                if (l.StartsWith("[bob-alice-1] connected over host 127.0.0.1:", StringComparison.Ordinal) && l.EndsWith("(DTLS)", StringComparison.Ordinal)) connected.Add("b");
                return connected.Count == 2;
            }, Wait);

            await host.WriteLineAsync("sessions");
            var row = await host.WaitForLineAsync(l => l.Contains("alice-bob-1", StringComparison.Ordinal) && l.Contains("connected", StringComparison.Ordinal), Wait);
            Assert.Contains("host 127.0.0.1:", row);
            Assert.Matches(@"\d+(\.\d)? ms", row); // RTT
            Assert.Matches(@"\d+(\.\d)? (B|KiB|MiB)", row);   // bytes (KiB once path MTU probes of up to 16 KiB went out)

            await host.WriteLineAsync("pairs alice-bob-1");
            var pair = await host.WaitForLineAsync(l => l.Contains("Succeeded", StringComparison.Ordinal), Wait);
            Assert.Contains("yes", pair);

            await host.WriteLineAsync("say alice-bob-1 hello bob, from the console");
            var said = new HashSet<string>();
            await host.WaitForLineAsync(l =>
            {
                // the acknowledgement may be printed before the message it acknowledges: either comes first
                if (l is "[bob-alice-1] Received: hello bob, from the console" or "[alice-bob-1] delivered #1") said.Add(l);
                return said.Count == 2;
            }, Wait);

            // a file from alice to bob: offered, accepted, checked
            var source = Path.Combine(folder.FullName, "notes with spaces.bin");
            var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024 * 1024 + 3);
            await File.WriteAllBytesAsync(source, bytes);
            await host.WriteLineAsync($"send alice-bob-1 {source}");
            var offer = await host.WaitForLineAsync(l => l.StartsWith("[bob-alice-1] the peer offers 'notes with spaces.bin'", StringComparison.Ordinal), Wait);
            var id = System.Text.RegularExpressions.Regex.Match(offer, @"accept bob-alice-1 (\S+)").Groups[1].Value;
            await host.WriteLineAsync($"accept bob-alice-1 {id}");
            var done = await host.WaitForLineAsync(l => l.StartsWith($"[bob-alice-1] file {id}: done", StringComparison.Ordinal), Wait);
            var received = Path.Combine(downloads, "notes with spaces.bin");
            Assert.Contains(received, done);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(received));

            await host.WriteLineAsync("close bob-alice-1");
            await host.WaitForLineAsync(l => l == "[alice-bob-1] the peer closed the DTLS association", Wait);
            await host.WriteLineAsync("frobnicate");
            await host.WaitForLineAsync(l => l.Contains("unknown command or wrong arguments: 'frobnicate'", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("quit");
            await host.WaitForLineAsync(l => l == "bye", Wait);
            Assert.Equal(0, await host.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(host.Transcript);
            folder.Delete(recursive: true);
        }
    }

    /// <param name="firstServerDown">--signal names a dead node first, then the live one (the nodes of a signal fleet): the rooms fail over to it.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Peers_meet_in_a_room_of_p2p_signal_and_chat(bool firstServerDown)
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ", StringComparison.Ordinal), Wait);
        var url = listening["signal listening on ".Length..].Trim();
        if (firstServerDown)
        {
            var unused = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            unused.Start();
            int deadPort = ((System.Net.IPEndPoint)unused.LocalEndpoint).Port;
            unused.Stop();
            url = $"ws://127.0.0.1:{deadPort}/,{url}";
        }
        await using var host = P2pProcess.Start("host", "--local-address", "127.0.0.1", "--signal", url);
        try
        {
            await host.WriteLineAsync("peer add alice");
            await host.WriteLineAsync("peer add bob");
            await host.WaitForLineAsync(l => l.StartsWith("peer bob bound", StringComparison.Ordinal), Wait);
            await host.WriteLineAsync("open alice room:lunch");
            await host.WaitForLineAsync(l => l == "[alice@lunch-1] joined room:lunch (first in the room: controlling)", Wait);
            await host.WriteLineAsync("open bob room:lunch");
            var connected = new HashSet<string>();
            await host.WaitForLineAsync(l =>
            {
                if (l.StartsWith("[alice@lunch-1] connected over host 127.0.0.1:", StringComparison.Ordinal)) connected.Add("alice");
                if (l.StartsWith("[bob@lunch-2] connected over host 127.0.0.1:", StringComparison.Ordinal)) connected.Add("bob");
                return connected.Count == 2;
            }, Wait);
            await host.WriteLineAsync("say bob@lunch-2 hello through the room");
            await host.WaitForLineAsync(l => l == "[alice@lunch-1] Received: hello through the room", Wait);
            await host.WriteLineAsync("quit");
            Assert.Equal(0, await host.WaitForExitAsync(Wait));
        }
        finally
        {
            output.WriteLine(host.Transcript);
        }
    }
}
