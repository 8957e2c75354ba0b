using System.Net;
using System.Net.Sockets;
using P2P.Actors.Tests.Support;
using P2P.Host.Direct;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// <c>p2p --no-ice</c> as real processes on 127.0.0.1: against the original's stand-in (nice-peer) both ways,
/// against itself in plain text and with <c>--secure</c>, and its one-sentence failures.
/// </summary>
public sealed class DirectChatTests(ITestOutputHelper log)
{
    // Generous: two cores, other builds running, every p2p is a fresh `dotnet p2p.dll`.
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static P2pProcess StartP2p(params string[] arguments) => P2pProcess.Start(arguments);

    private static Task<string> Listening(InteractiveProcess server, int port) =>
        server.WaitForLineAsync(l => l == $"Listening on 0.0.0.0:{port}", Wait, NicePeerStream.Stderr);

    private static Task<string> Connected(InteractiveProcess process) => process.WaitForLineAsync(l => l == "Connected", Wait);

    private static Task<string> Received(InteractiveProcess process, string text) => process.WaitForLineAsync(l => l == $"Received: {text}", Wait);

    private static Task<string> ClosedByPeer(InteractiveProcess process) => process.WaitForLineAsync(l => l == "Connection closed by peer", Wait);

    /// <summary>Its stderr lines once it has exited.</summary>
    private static string[] StatusLines(InteractiveProcess process) =>
        [.. process.Transcript.Split('\n').Where(l => l.StartsWith("err| ", StringComparison.Ordinal)).Select(l => l[5..])];

    /// <summary>The fingerprint on the "label: sha-256 AB:CD:..." line (the peer's line goes on with what TLS negotiated).</summary>
    private async Task<string> Fingerprint(InteractiveProcess process, string label)
    {
        var line = await CertificateLine(process, label);
        return line[$"{label}: sha-256 ".Length..].Split(' ')[0];
    }

    private static Task<string> CertificateLine(InteractiveProcess process, string label) =>
        process.WaitForLineAsync(l => l.StartsWith($"{label}: sha-256 ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);

    private async Task Chat(InteractiveProcess a, InteractiveProcess b)
    {
        await Task.WhenAll(Connected(a), Connected(b));
        await a.WriteLineAsync($"hello from {a.Name}");
        await Received(b, $"hello from {a.Name}");
        await b.WriteLineAsync($"and hello from {b.Name}, héllo ünicode");
        await Received(a, $"and hello from {b.Name}, héllo ünicode");
        await a.WriteLineAsync("second line");
        await Received(b, "second line");
    }

    /// <summary>Closes <paramref name="leaving"/>'s input; the other side says the peer closed; both exit 0.</summary>
    private async Task Leave(InteractiveProcess leaving, InteractiveProcess staying)
    {
        leaving.CloseStdin();
        await ClosedByPeer(staying);
        Assert.Equal(0, await staying.WaitForExitAsync(Wait));
        Assert.Equal(0, await leaving.WaitForExitAsync(Wait));
    }

    /// <summary>Runs the conversation, then writes both transcripts to the test log (also when it fails).</summary>
    private async Task Logged(InteractiveProcess server, InteractiveProcess client, Func<Task> conversation)
    {
        try
        {
            await conversation();
        }
        finally
        {
            log.WriteLine(server.Transcript);
            log.WriteLine(client.Transcript);
        }
    }

    [Fact]
    public async Task P2p_server_and_original_client_chat_and_the_server_sees_the_client_leave()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = StartP2p("-s", "--no-ice", "-p", $"{port}");
        await Listening(server, port);
        await using var client = await NicePeer.StartAsync("--no-ice", "-c", "127.0.0.1", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
        await Chat(server, client);
        await Leave(client, server);
        });
    }

    [Fact]
    public async Task Original_server_and_p2p_client_chat_and_the_server_sees_the_client_leave()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = await NicePeer.StartAsync("-s", "--no-ice", "-p", $"{port}");
        await Listening(server, port);
        await using var client = StartP2p("--no-ice", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
        await Chat(client, server);
        await Leave(client, server);
        });
    }

    [Fact]
    public async Task P2p_client_sees_the_original_server_leave()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = await NicePeer.StartAsync("-s", "--no-ice", "-p", $"{port}");
        await Listening(server, port);
        await using var client = StartP2p("--no-ice", "-c", "127.0.0.1", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
        await Task.WhenAll(Connected(client), Connected(server));
        await server.WriteLineAsync("bye");
        await Received(client, "bye");
        await Leave(server, client);
        });
    }

    [Fact]
    public async Task Two_p2p_programs_chat_in_plain_text_in_two_terminals()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = StartP2p("-s", "--no-ice", "-p", $"{port}");
        await Listening(server, port);
        await using var client = StartP2p("-c", "127.0.0.1", "--no-ice", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
        await Chat(server, client);
        await Leave(server, client);
        Assert.DoesNotContain(StatusLines(server).Concat(StatusLines(client)), l => l.Contains("certificate", StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task Secure_p2p_programs_with_the_right_peer_fingerprint_chat_and_show_each_others_certificates()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = StartP2p("-s", "--no-ice", "--secure", "-p", $"{port}");
        var serverFingerprint = await Fingerprint(server, "Your certificate");
        await Listening(server, port);
        // As a user might paste it: lower case, colons kept.
        await using var client = StartP2p("--no-ice", "--secure", "-p", $"{port}", "--peer-fingerprint", serverFingerprint.ToLowerInvariant());
        await Logged(server, client, async () =>
        {
        var clientFingerprint = await Fingerprint(client, "Your certificate");
        var peerOfClient = await CertificateLine(client, "Peer certificate");
        var peerOfServer = await CertificateLine(server, "Peer certificate");
        Assert.StartsWith($"Peer certificate: sha-256 {serverFingerprint} ", peerOfClient);
        Assert.StartsWith($"Peer certificate: sha-256 {clientFingerprint} ", peerOfServer);
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", serverFingerprint);
        Assert.NotEqual(serverFingerprint, clientFingerprint);
        // what was negotiated, on the same line: TLS 1.3 and one of its cipher suites (RFC 8446 §B.4)
        foreach (var line in new[] { peerOfClient, peerOfServer })
            Assert.Matches(@" \(TLS 1\.3, TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256|AES_128_CCM_SHA256|AES_128_CCM_8_SHA256)\)$", line);
        await Chat(client, server);
        await Leave(client, server);
        });
    }

    [Fact]
    public async Task Secure_client_refuses_a_server_whose_certificate_is_not_the_peer_fingerprint()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        const string wrong = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";
        await using var server = StartP2p("-s", "--no-ice", "--secure", "-p", $"{port}");
        var serverFingerprint = await Fingerprint(server, "Your certificate");
        await Listening(server, port);
        await using var client = StartP2p("--no-ice", "--secure", "-p", $"{port}", "--peer-fingerprint", wrong);
        await Logged(server, client, async () =>
        {
        var refusal = await client.WaitForLineAsync(l => l.StartsWith("Refused the connection", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        Assert.Contains(serverFingerprint, refusal);
        Assert.Contains("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", refusal);
        Assert.Contains("--peer-fingerprint", refusal);
        Assert.NotEqual(0, await client.WaitForExitAsync(Wait));
        Assert.DoesNotContain("out| Connected", client.Transcript);
        Assert.DoesNotContain(StatusLines(client), l => l.StartsWith("Peer certificate", StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task Secure_server_refuses_a_client_whose_certificate_is_not_the_peer_fingerprint()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        const string wrong = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
        await using var server = StartP2p("-s", "--no-ice", "--secure", "-p", $"{port}", "--peer-fingerprint", wrong);
        await Listening(server, port);
        await using var client = StartP2p("--no-ice", "--secure", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
            var clientFingerprint = await Fingerprint(client, "Your certificate");
            var refusal = await server.WaitForLineAsync(l => l.StartsWith("Refused the connection", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Contains(clientFingerprint, refusal);
            Assert.Contains("FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00:FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00", refusal);
            Assert.NotEqual(0, await server.WaitForExitAsync(Wait));
            Assert.DoesNotContain("out| Connected", server.Transcript);
            // the refused client is told so, never Connected then "closed by peer" with exit 0
            Assert.Equal(1, await client.WaitForExitAsync(Wait));
            Assert.Contains($"err| {P2P.Host.Direct.Conversation.SecureRefusedSentence}", client.Transcript);
            Assert.DoesNotContain("out| Connected", client.Transcript);
            Assert.DoesNotContain("Connection closed by peer", client.Transcript);
        });
    }

    [Fact]
    public async Task Secure_client_against_a_plain_p2p_server_says_to_run_both_sides_with_secure()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = StartP2p("-s", "--no-ice", "-p", $"{port}");
        await Listening(server, port);
        await using var client = StartP2p("--no-ice", "--secure", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
        await client.WaitForLineAsync(l => l.Contains("the other side did not answer TLS: run both sides with --secure, or neither", StringComparison.OrdinalIgnoreCase),
            Wait, NicePeerStream.Stderr);
        Assert.NotEqual(0, await client.WaitForExitAsync(Wait));
        // The plain side recognises the TLS hello instead of printing it as text.
        await server.WaitForLineAsync(l => l.Contains("run both sides with --secure, or neither", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        Assert.NotEqual(0, await server.WaitForExitAsync(Wait));
        Assert.DoesNotContain("Received:", server.Transcript);
        });
    }

    [Fact]
    public async Task Secure_server_against_a_plain_client_that_types_says_to_run_both_sides_with_secure()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = StartP2p("-s", "--no-ice", "--secure", "-p", $"{port}");
        await Listening(server, port);
        await using var client = await NicePeer.StartAsync("--no-ice", "-p", $"{port}");
        await Logged(server, client, async () =>
        {
        await Connected(client);
        await client.WriteLineAsync("hello?");
        await server.WaitForLineAsync(l => l == "The other side did not answer TLS: run both sides with --secure, or neither.", Wait, NicePeerStream.Stderr);
        Assert.NotEqual(0, await server.WaitForExitAsync(Wait));
        await ClosedByPeer(client);
        });
    }

    /// <summary>The events of a <c>--log-json</c> file (Serilog's compact JSON: one object per line).</summary>
    private static List<System.Text.Json.JsonElement> LogEvents(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone())];

    private static string Level(System.Text.Json.JsonElement e) => e.TryGetProperty("@l", out var level) ? level.GetString()! : "Information";

    private static string Template(System.Text.Json.JsonElement e) => e.GetProperty("@mt").GetString()!;

    [Fact]
    public async Task No_ice_chat_writes_json_log_events_with_its_session_id_and_debug_events_only_with_v()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-noice-log-");
        var serverLog = Path.Combine(folder.FullName, "server.json");
        var clientLog = Path.Combine(folder.FullName, "client.json");
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var server = StartP2p("-s", "--no-ice", "-p", $"{port}", "--log", serverLog, "--log-json", "-v");
        await Listening(server, port);
        await using var client = StartP2p("--no-ice", "-p", $"{port}", "--log", clientLog, "--log-json");
        try
        {
            await Logged(server, client, async () =>
            {
                await Chat(server, client);
                await Leave(client, server);
            });
            foreach (var (path, role) in new[] { (serverLog, "server"), (clientLog, "client") })
            {
                var events = LogEvents(path);
                Assert.NotEmpty(events);
                Assert.All(events, e => Assert.Equal("chat", e.GetProperty("SessionId").GetString()));
                Assert.Contains(events, e => e.TryGetProperty("Role", out var r) && r.GetString() == role);
                var connected = Assert.Single(events, e => Template(e).StartsWith("TCP connected", StringComparison.Ordinal));
                Assert.Contains($"127.0.0.1:{port}", connected.GetProperty(role == "server" ? "LocalEndPoint" : "RemoteEndPoint").GetString());
                Assert.Contains(events, e => Template(e).StartsWith("Chat ended", StringComparison.Ordinal));
            }
            // -v: the bytes of each line, at debug level; without it, no debug event at all
            var serverEvents = LogEvents(serverLog);
            Assert.Contains(serverEvents, e => Level(e) == "Debug" && Template(e) == "Received {Bytes} bytes");
            Assert.Contains(serverEvents, e => Level(e) == "Debug" && Template(e) == "Sent {Bytes} bytes");
            Assert.DoesNotContain(LogEvents(clientLog), e => Level(e) == "Debug");
            // and on the console of the -v side only (on stderr, like every log line)
            Assert.Contains("err| [", server.Transcript); // log lines, -v included, go to stderr: stdout is the chat's
            Assert.DoesNotContain("out| [", server.Transcript);
            Assert.Contains(" DBG] Received ", server.Transcript);
            Assert.DoesNotContain(" DBG] ", client.Transcript);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task No_ice_chat_refuses_a_config_file_that_does_not_exist_with_exit_code_2()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        var missing = Path.Combine(Path.GetTempPath(), $"p2p-missing-{Guid.NewGuid():N}.hocon");
        await using var client = StartP2p("--no-ice", "-p", $"{port}", "--config", missing);
        int code = await client.WaitForExitAsync(Wait);
        log.WriteLine(client.Transcript);
        Assert.Equal(2, code);
        Assert.Equal([$"p2p: the config file {missing} does not exist."], StatusLines(client));
    }

    [Fact]
    public async Task No_ice_secure_client_takes_its_tls_handshake_timeout_from_the_config_file()
    {
        // a server that accepts and never says a word: the handshake can only end by its timeout
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var config = Path.Combine(Path.GetTempPath(), $"p2p-noice-{Guid.NewGuid():N}.hocon");
        await File.WriteAllTextAsync(config, "p2p.no-ice.tls-handshake-timeout = 2s");
        try
        {
            await using var client = StartP2p("--no-ice", "--secure", "-p", $"{port}", "--config", config);
            using var accepted = await silent.AcceptSocketAsync();
            int code = await client.WaitForExitAsync(Wait);
            log.WriteLine(client.Transcript);
            Assert.Equal(1, code);
            Assert.Contains("The other side did not answer TLS within 2 s: run both sides with --secure, or neither.", StatusLines(client));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Port_already_in_use_is_one_sentence_and_a_non_zero_exit()
    {
        using var occupant = new TcpListener(IPAddress.Any, 0);
        occupant.Start();
        int port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        await using var server = StartP2p("-s", "--no-ice", "-p", $"{port}");
        int code = await server.WaitForExitAsync(Wait);
        log.WriteLine(server.Transcript);
        Assert.Equal(1, code);
        Assert.Equal([$"Cannot listen on port {port}: address already in use. Choose another with -p."], StatusLines(server));
    }

    [Fact]
    public async Task Connection_refused_is_one_sentence_and_a_non_zero_exit()
    {
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var client = StartP2p("--no-ice", "-c", "127.0.0.1", "-p", $"{port}");
        int code = await client.WaitForExitAsync(Wait);
        log.WriteLine(client.Transcript);
        Assert.Equal(1, code);
        Assert.Equal([$"Cannot connect to 127.0.0.1:{port}: connection refused. Is the server (p2p -s --no-ice) running?"], StatusLines(client));
        Assert.DoesNotContain("out|", client.Transcript);
    }

    [Fact]
    public async Task A_server_address_that_is_not_a_host_name_is_one_sentence_without_a_lookup()
    {
        await using var client = StartP2p("--no-ice", "-c", "not a host!", "-p", "8080");
        int code = await client.WaitForExitAsync(Wait);
        log.WriteLine(client.Transcript);
        Assert.Equal(1, code);
        Assert.Equal(["'not a host!' is neither an IP address nor a host name. Check the address given with -c."], StatusLines(client));
    }

    [Fact]
    public async Task A_malformed_peer_fingerprint_is_refused_before_connecting_with_exit_code_2()
    {
        await using var client = StartP2p("--no-ice", "--secure", "-p", "8080", "--peer-fingerprint", "AB:CD");
        int code = await client.WaitForExitAsync(Wait);
        log.WriteLine(client.Transcript);
        Assert.Equal(2, code);
        var line = Assert.Single(StatusLines(client));
        Assert.Equal("--peer-fingerprint expects a SHA-256 fingerprint, 32 hex bytes (AB:CD:...), not 'AB:CD'.", line);
    }

    [Fact]
    public async Task Port_out_of_range_is_refused_by_the_parser_with_one_sentence_and_exit_code_2()
    {
        await using var client = StartP2p("--no-ice", "-p", "99999");
        int code = await client.WaitForExitAsync(Wait);
        log.WriteLine(client.Transcript);
        Assert.Equal(2, code);
        var line = Assert.Single(StatusLines(client));
        Assert.Equal("p2p: -p expects a port number between 0 and 65535, not '99999'. See 'p2p --help'.", line);
    }

    [Fact]
    public async Task Default_command_line_is_accepted()
    {
        // Exactly what a user types (no --timeout): it must reach the connection, here refused.
        int port = InteractiveProcess.FindFreeTcpPort();
        await using var client = P2pProcess.Start("--no-ice", "-p", $"{port}");
        int code = await client.WaitForExitAsync(Wait);
        log.WriteLine(client.Transcript);
        Assert.Equal([$"Cannot connect to 127.0.0.1:{port}: connection refused. Is the server (p2p -s --no-ice) running?"], StatusLines(client));
        Assert.Equal(1, code);
    }
}
