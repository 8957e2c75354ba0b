using System.Collections;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using P2P.Host.Commands;
using P2P.Host.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// The root command line as users meet it (F2, F3, F4, F7, F8): help, bad options, unreachable or refusing servers
/// (one sentence each, non-zero exit where the run ends), a relay-only chat through <c>p2p relay</c>, and settings
/// from the environment. Real <c>p2p</c> processes on 127.0.0.1; no outside server.
/// </summary>
public sealed class CommandLineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static Task<Processes.Result> RunP2p(params string[] args) => Processes.Run(Processes.Dotnet([Processes.P2pDll, .. args]), Wait);

    /// <summary>
    /// The rows of a help section ("Options:" or "Commands:"): each row's first column split into its tokens
    /// ("-p, --port &lt;port&gt;" gives -p, --port, &lt;port&gt;), with the whole line.
    /// </summary>
    private static List<(string[] Names, string Line)> HelpRows(string help, string section)
    {
        var rows = new List<(string[], string)>();
        bool inside = false;
        foreach (var line in help.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            if (!line.StartsWith(' ')) { inside = line == section; continue; }
            if (!inside) continue;
            var first = System.Text.RegularExpressions.Regex.Split(line.Trim(), @"\s{2,}")[0];
            rows.Add((first.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries), line));
        }
        return rows;
    }

    /// <summary>The one help row that names <paramref name="name"/> as a whole token (so "-s" is not found in "--stun").</summary>
    private static string HelpRow(string help, string section, string name)
    {
        var rows = HelpRows(help, section).Where(r => r.Names.Contains(name)).ToList();
        Assert.True(rows.Count == 1, $"'{name}' should be named on exactly one line of {section} in:\n{help}");
        return rows[0].Line;
    }

    [Fact]
    public async Task Help_lists_every_option_of_the_original_with_its_default()
    {
        var result = await RunP2p("--help");
        Assert.Equal(0, result.ExitCode);
        var help = result.Stdout;
        // the original's options with their defaults, each on its own row
        foreach (var (option, fallback) in new (string, string?)[]
        {
            ("-s", null), ("-p", "8080"), ("-c", "127.0.0.1"), ("--no-ice", null), ("--stun", "stun.l.google.com"), ("--stun-port", "19302"),
            ("--turn", null), ("--turn-port", "3478"), ("--turn-user", null), ("--turn-pass", null), ("--help", null),
        })
        {
            var row = HelpRow(help, "Options:", option);
            if (fallback is not null) Assert.EndsWith($"[default: {fallback}]", row);
            else Assert.DoesNotContain("[default:", row);
        }
        Assert.Contains("<server>", HelpRows(help, "Options:").Single(r => r.Names.Contains("--stun")).Names);
        Assert.Contains("<port>", HelpRows(help, "Options:").Single(r => r.Names.Contains("-p")).Names);
        // ours
        foreach (var option in new[] { "--secure", "--peer-fingerprint", "--plain", "--signal", "--room", "--relay-only", "--turn-tcp", "--timeout",
            "--local-address", "--download-dir", "--config", "--log", "--log-json", "-v" })
            HelpRow(help, "Options:", option);
        foreach (var command in new[] { "relay", "signal", "host", "demo" })
            HelpRow(help, "Commands:", command);
    }

    [Theory]
    [InlineData("host", "--stun --stun-port --turn --turn-port --turn-user --turn-pass --local-address --download-dir --signal --config --log --log-json -v --help")]
    [InlineData("relay", "--listen --relay-ip --min-port --max-port --realm --user --allow-loopback --allow-private --max-allocations --user-quota --lifetime-max --nonce-lifetime --config --log -v --help")]
    [InlineData("signal", "--listen --config --log -v --cluster-host --cluster-port --seed --help")]
    [InlineData("demo", "--real --nat-a --nat-b --file-mib --lines --config --log -v --help")]
    public async Task Each_subcommand_help_lists_its_options(string command, string options)
    {
        var result = await RunP2p(command, "--help");
        output.WriteLine(result.ToString());
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"p2p {command} [options]", result.Stdout);
        foreach (var option in options.Split(' '))
            HelpRow(result.Stdout, "Options:", option);
        // not the root's: a subcommand's help is its own
        Assert.DoesNotContain(HelpRows(result.Stdout, "Options:"), r => r.Names.Contains("--no-ice"));
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("-p abc", "-p expects a port number")]
    [InlineData("--stun-port 70000", "--stun-port expects a port number")]
    [InlineData("--turn 127.0.0.1", "--turn needs --turn-user and --turn-pass")]
    [InlineData("--relay-only", "--relay-only needs --turn")]
    [InlineData("--signal http://x --room r", "ws:// or wss://")]
    [InlineData("--plain --no-ice", "--plain applies to ICE mode")]
    public async Task A_bad_option_is_one_sentence_and_exit_code_2(string args, string expected)
    {
        var result = await RunP2p(args.Split(' '));
        output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one sentence, not a wall of help
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task A_STUN_server_name_that_does_not_resolve_ends_the_run_with_a_sentence()
    {
        var result = await RunP2p("-s", "--stun", "stun.example.invalid", "--local-address", "127.0.0.1");
        output.WriteLine(result.ToString());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot resolve the STUN server 'stun.example.invalid'", result.Stderr);
        Assert.Contains("--stun", result.Stderr);
    }

    [Fact]
    public async Task An_unreachable_STUN_server_and_refused_TURN_credentials_are_told_in_a_sentence_each()
    {
        await using var relay = await RelayProcess.Start("--user", "alice:secret", "--allow-loopback");
        await using var p2p = P2pProcess.Start("-s", "--plain", "--local-address", "127.0.0.1", "--stun", "127.0.0.1", "--stun-port", "9",
            "--turn", "127.0.0.1", "--turn-port", relay.UdpPort.ToString(), "--turn-user", "alice", "--turn-pass", "wrong");
        try
        {
            var told = new HashSet<string>();
            await p2p.WaitForLineAsync(l =>
            {
                // in whichever order they come
                if (l.StartsWith("p2p: TURN server", StringComparison.Ordinal) && l.Contains("refused credentials for user 'alice' (401", StringComparison.Ordinal)) told.Add("turn");
                if (l.StartsWith("p2p: STUN server 127.0.0.1:9 did not answer", StringComparison.Ordinal)) told.Add("stun");
                return told.Count == 2;
            }, Wait, NicePeerStream.Stderr);
            // host candidates still make a description: the run goes on
            var block = await p2p.ReadLocalDescriptionAsync(Wait);
            Assert.Contains("typ host", block);
            Assert.DoesNotContain("typ relay", block);
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }

    [Fact]
    public async Task An_unreachable_TURN_server_is_one_sentence_and_the_run_goes_on_with_host_candidates()
    {
        int nobody = InteractiveProcess.FindFreeTcpPort(); // no TURN server there (UDP)
        await using var p2p = P2pProcess.Start("-s", "--plain", "--local-address", "127.0.0.1", "--stun", "none",
            "--turn", "127.0.0.1", "--turn-port", nobody.ToString(), "--turn-user", "alice", "--turn-pass", "secret");
        try
        {
            var sentence = await p2p.WaitForLineAsync(l => l.StartsWith("p2p: TURN server", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Contains($"127.0.0.1:{nobody} did not answer", sentence);
            Assert.Contains("no relay candidate", sentence);
            var block = await p2p.ReadLocalDescriptionAsync(Wait);
            Assert.Contains("typ host", block);
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }

    [Fact]
    public async Task A_relay_only_chat_goes_through_p2p_relay()
    {
        await using var relay = await RelayProcess.Start("--user", "alice:secret", "--allow-loopback");
        string[] turn = ["--stun", "none", "--local-address", "127.0.0.1", "--relay-only",
            "--turn", "127.0.0.1", "--turn-port", relay.UdpPort.ToString(), "--turn-user", "alice", "--turn-pass", "secret"];
        await using var server = P2pProcess.Start(["-s", .. turn]);
        await using var client = P2pProcess.Start(turn);
        try
        {
            await P2pProcess.ChatThroughRelayAsync(server, client, "through the relay", "and back", Wait);
        }
        finally
        {
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
        }
    }

    [Fact]
    public void Environment_variables_set_settings_between_akka_hocon_and_the_config_file()
    {
        var environment = new Hashtable { ["P2P__ICE__CONSENT_TIMEOUT"] = "7s", ["P2P__RELAY__REALM"] = "from-env", ["PATH"] = "/bin" };
        var config = P2PHostBuilder.LoadConfig(null, environment);
        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("p2p.ice.consent-timeout"));
        Assert.Equal("from-env", config.GetString("p2p.relay.realm"));
        Assert.Equal(TimeSpan.FromMilliseconds(5), config.GetTimeSpan("p2p.ice.ta")); // untouched: akka.hocon's

        var overlay = new FileInfo(Path.GetTempFileName());
        try
        {
            File.WriteAllText(overlay.FullName, "p2p.ice.consent-timeout = 9s");
            Assert.Equal(TimeSpan.FromSeconds(9), P2PHostBuilder.LoadConfig(overlay, environment).GetTimeSpan("p2p.ice.consent-timeout"));
        }
        finally
        {
            overlay.Delete();
        }
        var bad = Assert.Throws<ArgumentException>(() => P2PHostBuilder.LoadConfig(null, new Hashtable { ["P2P__ICE__T{A"] = "1" }));
        Assert.Contains("P2P__ICE__T{A", bad.Message);
    }
}
