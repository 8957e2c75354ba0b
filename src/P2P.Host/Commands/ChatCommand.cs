using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Akka.Configuration;
using P2P.Host.Chat;
using P2P.Host.Direct;
using P2P.Host.Hosting;
using Serilog.Events;

namespace P2P.Host.Commands;

/// <summary>
/// The root command: the original program's command line (<c>-s</c>, <c>-p</c>, <c>-c</c>, <c>--no-ice</c>,
/// <c>--stun</c>, <c>--stun-port</c>, <c>--turn*</c>), same spellings and defaults, plus ours (<c>--plain</c>,
/// <c>--secure</c>, <c>--signal</c>, <c>--room</c>, logging and config). One chat with one remote peer.
/// </summary>
public static class ChatCommand
{
    public static readonly Option<bool> Server = new("-s", "--server") { Description = "Server side: with --no-ice, listen and accept one connection; with ICE, the controlling agent." };
    public static readonly Option<int> Port = PortOption("-p", "TCP port for --no-ice (server listens, client connects).", 8080, "--port");
    public static readonly Option<string> Connect = new("-c", "--connect") { HelpName = "ip", Description = "Server address for the --no-ice client.", DefaultValueFactory = _ => "127.0.0.1" };
    public static readonly Option<bool> NoIce = new("--no-ice") { Description = "Direct TCP messaging, no NAT traversal (the original's wire format: plain text lines)." };
    public static readonly Option<bool> Secure = new("--secure") { Description = "With --no-ice: TLS 1.3 between two p2p programs (self-signed; the fingerprint is shown and can be checked)." };
    public static readonly Option<string?> PeerFingerprint = new("--peer-fingerprint") { HelpName = "sha-256", Description = "With --secure: the SHA-256 fingerprint (AB:CD:...) the other side's certificate must have." };
    public static readonly Option<string> Stun = new("--stun") { HelpName = "server", Description = "STUN server for the public address ('none' for host candidates only).", DefaultValueFactory = _ => "stun.l.google.com" };
    public static readonly Option<int> StunPort = PortOption("--stun-port", "STUN server port.", 19302);
    public static readonly Option<string?> Turn = new("--turn") { HelpName = "server", Description = TurnCommandLine.TurnDescription + " To relay when no direct path works." };
    public static readonly Option<int> TurnPort = PortOption("--turn-port", "TURN server port (5349 for TLS when not given, RFC 7065).", TurnCommandLine.DefaultPort);
    public static readonly Option<string?> TurnUser = new("--turn-user") { HelpName = "user", Description = "TURN user name." };
    public static readonly Option<string?> TurnPass = new("--turn-pass") { HelpName = "password", Description = "TURN password." };
    public static readonly Option<bool> TurnTcp = new("--turn-tcp") { Description = "Reach the TURN server over TCP (for networks that block UDP); the relay candidate stays UDP." };
    public static readonly Option<bool> TurnTls = TurnCommandLine.TlsOption();
    public static readonly Option<FileInfo?> TurnCa = TurnCommandLine.CaOption();
    public static readonly Option<string?> TurnFingerprint = TurnCommandLine.FingerprintOption();
    public static readonly Option<bool> Plain = new("--plain") { Description = "ICE without encryption: raw text datagrams, to talk to the original program." };
    public static readonly Option<string[]> Signal = new("--signal")
    {
        HelpName = "url",
        Description = "Signaling server URL (ws://host:port/) for the automatic description exchange (see 'p2p signal'); several (comma-separated or repeated) are the nodes of a fleet, tried in turn.",
        Arity = ArgumentArity.OneOrMore,
    };
    public static readonly Option<string?> Room = new("--room") { HelpName = "name", Description = "Room to meet the other peer in on the signaling server." };
    public static readonly Option<int> Timeout = new("--timeout") { HelpName = "seconds", Description = "Seconds to wait for a working candidate pair before giving up.", DefaultValueFactory = _ => 30 };
    public static readonly Option<bool> RelayOnly = new("--relay-only") { Description = "Offer only the TURN relay candidate (needs --turn): all traffic goes through the relay." };
    public static readonly Option<string?> LocalAddress = new("--local-address") { HelpName = "ip", Description = "Gather host candidates on this address only (default: every interface that is up)." };
    public static readonly Option<string?> DownloadDirectory = new("--download-dir") { HelpName = "folder", Description = "Folder that received files are written to (default: p2p.chat.download-folder, your Downloads folder)." };
    public static readonly Option<FileInfo?> ConfigFile = new("--config") { HelpName = "file", Description = "A HOCON file layered over akka.hocon." };
    public static readonly Option<FileInfo?> LogFile = new("--log") { HelpName = "file", Description = "Write structured log events to this file." };
    public static readonly Option<bool> LogJson = new("--log-json") { Description = "Write the --log file as JSON (one event per line)." };
    public static readonly Option<bool> Verbose = new("-v", "--verbose") { Description = "Debug logging." };

    private static Option<int> PortOption(string name, string description, int defaultValue, params string[] aliases) => new(name, aliases)
    {
        HelpName = "port",
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= 65535) return port;
            result.AddError($"{name} expects a port number between 0 and 65535, not '{text}'");
            return defaultValue;
        },
    };

    /// <summary>Adds the options and the action to the root command.</summary>
    public static void Configure(RootCommand root)
    {
        foreach (var option in new Option[] { Server, Port, Connect, NoIce, Secure, PeerFingerprint, Stun, StunPort, Turn, TurnPort, TurnUser, TurnPass, TurnTcp,
            TurnTls, TurnCa, TurnFingerprint, Plain, Signal, Room, Timeout, RelayOnly, LocalAddress, DownloadDirectory, ConfigFile, LogFile, LogJson, Verbose })
            root.Options.Add(option);
        root.Validators.Add(Validate);
        // single-option checks live on the option (a command validator sees 0, not the default, for an option not given)
        Timeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 3600) r.AddError("--timeout must be between 1 and 3600 seconds");
        });
        LocalAddress.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } local && !System.Net.IPAddress.TryParse(local, out _))
                r.AddError($"--local-address expects an IP address, not '{local}'");
        });
        root.SetAction((parseResult, cancel) => RunAsync(parseResult, cancel));
    }

    private static void Validate(CommandResult result)
    {
        bool noIce = result.GetValue(NoIce);
        if (result.GetValue(Secure) && !noIce) result.AddError("--secure applies to --no-ice (ICE sessions are encrypted with DTLS unless --plain)");
        if (result.GetValue(Plain) && noIce) result.AddError("--plain applies to ICE mode (--no-ice is always plain text)");
        if (result.GetValue(PeerFingerprint) is not null && !result.GetValue(Secure)) result.AddError("--peer-fingerprint needs --secure");
        var signal = SignalUrls(result.GetValue(Signal));
        foreach (var url in signal)
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
                result.AddError($"--signal expects a ws:// or wss:// URL, not '{url}'");
        if (signal.Count > 0 && string.IsNullOrWhiteSpace(result.GetValue(Room))) result.AddError("--signal needs --room <name>");
        if (result.GetValue(Room) is not null && signal.Count == 0) result.AddError("--room needs --signal <url>");
        if (result.GetValue(TurnTcp) && result.GetValue(Turn) is null) result.AddError("--turn-tcp needs --turn <server>");
        TurnCommandLine.Read(result, Turn, TurnPort, TurnTcp, TurnTls, TurnCa, TurnFingerprint);
        if (result.GetValue(RelayOnly) && result.GetValue(Turn) is null && signal.Count == 0)
            result.AddError("--relay-only needs --turn <server> (and its user and password), or --signal with a server that hands out TURN servers");
        if (result.GetValue(RelayOnly) && noIce) result.AddError("--relay-only applies to ICE mode");
        if (result.GetValue(Turn) is not null && (result.GetValue(TurnUser) is null || result.GetValue(TurnPass) is null))
            result.AddError("--turn needs --turn-user and --turn-pass");
    }

    /// <summary>--signal's URLs: each value may hold several, comma-separated.</summary>
    /// <summary>The URLs of <c>--signal</c>: comma-separated, repeated, or both (the nodes of a signal fleet).</summary>
    public static List<string> SignalUrls(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    public static ChatOptions Read(ParseResult p)
    {
        var turn = TurnCommandLine.Read(p.CommandResult, Turn, TurnPort, TurnTcp, TurnTls, TurnCa, TurnFingerprint);
        return ReadPlain(p) with
        {
            Turn = turn?.Target.Host,
            TurnPort = turn?.Target.Port ?? p.GetValue(TurnPort),
            TurnTcp = turn?.Target.Transport == P2P.Actors.Turn.TurnTransport.Tcp,
            TurnTls = turn?.Tls,
        };
    }

    private static ChatOptions ReadPlain(ParseResult p) => new()
    {
        Server = p.GetValue(Server),
        Port = p.GetValue(Port),
        Connect = p.GetValue(Connect)!,
        NoIce = p.GetValue(NoIce),
        Secure = p.GetValue(Secure),
        PeerFingerprint = p.GetValue(PeerFingerprint),
        Stun = p.GetValue(Stun) is { } stun && !stun.Equals("none", StringComparison.OrdinalIgnoreCase) && stun.Length > 0 ? stun : null,
        StunPort = p.GetValue(StunPort),
        Turn = p.GetValue(Turn),
        TurnPort = p.GetValue(TurnPort),
        TurnUser = p.GetValue(TurnUser),
        TurnPass = p.GetValue(TurnPass),
        TurnTcp = p.GetValue(TurnTcp),
        Plain = p.GetValue(Plain),
        Signal = SignalUrls(p.GetValue(Signal)) is { Count: > 0 } urls ? urls.Select(url => new Uri(url)).ToArray() : null,
        Room = p.GetValue(Room),
        Timeout = TimeSpan.FromSeconds(p.GetValue(Timeout)),
        LocalAddress = p.GetValue(LocalAddress),
        RelayOnly = p.GetValue(RelayOnly),
        DownloadDirectory = p.GetValue(DownloadDirectory),
    };

    private static async Task<int> RunAsync(ParseResult p, CancellationToken parserCancel)
    {
        var options = Read(p);
        // the same layers in both modes (akka.hocon, P2P__ variables, --config): a wrong file is refused in --no-ice too
        Config config;
        DirectSettings noIce;
        try
        {
            config = P2PHostBuilder.LoadConfig(p.GetValue(ConfigFile));
            noIce = DirectSettings.From(config);
        }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or IOException)
        {
            await Console.Error.WriteLineAsync($"p2p: {e.Message.TrimEnd('.')}.");
            return 2;
        }
        // Ctrl+C and SIGTERM end the chat through the token (the parser's own handling is off: see Program.cs): the
        // peer is told, TURN allocations are released; a second signal, or p2p.stop-timeout, ends it at once
        using var interrupts = Interrupts.Take("p2p", P2PHostBuilder.StopTimeout(config), Console.Error, parserCancel);
        var cancel = interrupts.Token;
        // the console is the chat: engine warnings go to --log (and to the console with -v); problems the user must
        // act on are printed by the chat itself as sentences
        P2PHostBuilder.ConfigureSerilog(p.GetValue(Verbose), p.GetValue(LogFile), LogEventLevel.Error, p.GetValue(LogJson));
        try
        {
            if (options.NoIce) return await DirectChat.RunAsync(options, noIce, Serilog.Log.Logger, Console.In, Console.Out, Console.Error, cancel);
            return await IceChat.RunAsync(options, config, p.GetValue(Verbose), Console.In, Console.Out, Console.Error, cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return Interrupts.ExitCode; // interrupted, as a shell reports Ctrl+C
        }
        finally
        {
            await Serilog.Log.CloseAndFlushAsync();
        }
    }
}
