using System.CommandLine;
using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.DependencyInjection;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Turn;
using P2P.Host.Chat;
using P2P.Host.Hosting;
using P2P.Host.Interactive;
using Serilog.Events;
using Spectre.Console;

namespace P2P.Host.Commands;

/// <summary><c>p2p host</c>: the interactive multi-peer console, see <see cref="HostConsole"/>.</summary>
public static class HostCommand
{
    private static readonly Option<string> Stun = new("--stun") { HelpName = "server", Description = "STUN server for the peers' public addresses ('none': host candidates only).", DefaultValueFactory = _ => "none" };
    private static readonly Option<int> StunPort = new("--stun-port") { HelpName = "port", Description = "STUN server port.", DefaultValueFactory = _ => 3478 };
    private static readonly Option<string?> Turn = new("--turn") { HelpName = "server", Description = TurnCommandLine.TurnDescription + " For relay candidates." };
    private static readonly Option<int> TurnPort = new("--turn-port") { HelpName = "port", Description = "TURN server port (5349 for TLS when not given, RFC 7065).", DefaultValueFactory = _ => TurnCommandLine.DefaultPort };
    private static readonly Option<string?> TurnUser = new("--turn-user") { HelpName = "user", Description = "TURN user name." };
    private static readonly Option<string?> TurnPass = new("--turn-pass") { HelpName = "password", Description = "TURN password." };
    private static readonly Option<bool> TurnTcp = new("--turn-tcp") { Description = "Reach the TURN server over TCP (for networks that block UDP); the relay candidates stay UDP." };
    private static readonly Option<bool> TurnTls = TurnCommandLine.TlsOption();
    private static readonly Option<FileInfo?> TurnCa = TurnCommandLine.CaOption();
    private static readonly Option<string?> TurnFingerprint = TurnCommandLine.FingerprintOption();
    private static readonly Option<string?> LocalAddress = new("--local-address") { HelpName = "ip", Description = "Bind peers to this address only (default: every interface)." };
    private static readonly Option<string?> DownloadDirectory = new("--download-dir") { HelpName = "folder", Description = "Folder that accepted files are written to (default: p2p.chat.download-folder, your Downloads folder)." };
    private static readonly Option<string[]> Signal = new("--signal")
    {
        HelpName = "url",
        Description = "Signaling server (ws://host:port/) whose rooms 'open <peer> room:<name>' joins; several (comma-separated or repeated) are the nodes of a fleet, tried in turn.",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<FileInfo?> ConfigFile = new("--config") { HelpName = "file", Description = "A HOCON file layered over akka.hocon." };
    private static readonly Option<FileInfo?> LogFile = new("--log") { HelpName = "file", Description = "Write structured log events to this file." };
    private static readonly Option<bool> LogJson = new("--log-json") { Description = "Write the --log file as JSON (one event per line)." };
    private static readonly Option<bool> Verbose = new("-v", "--verbose") { Description = "Debug logging." };

    public static Command Create()
    {
        var command = new Command("host", "Interactive console: many local peers and sessions in one process (peer add, open, sessions, pairs, say, close).")
        {
            Stun, StunPort, Turn, TurnPort, TurnUser, TurnPass, TurnTcp, TurnTls, TurnCa, TurnFingerprint, LocalAddress, DownloadDirectory, Signal, ConfigFile, LogFile, LogJson, Verbose,
        };
        LocalAddress.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } a && !IPAddress.TryParse(a, out _)) r.AddError($"--local-address expects an IP address, not '{a}'");
        });
        command.Validators.Add(r =>
        {
            if (r.GetValue(Turn) is not null && (r.GetValue(TurnUser) is null || r.GetValue(TurnPass) is null)) r.AddError("--turn needs --turn-user and --turn-pass");
            if (r.GetValue(TurnTcp) && r.GetValue(Turn) is null) r.AddError("--turn-tcp needs --turn <server>");
            TurnCommandLine.Read(r, Turn, TurnPort, TurnTcp, TurnTls, TurnCa, TurnFingerprint);
            foreach (var url in ChatCommand.SignalUrls(r.GetValue(Signal)))
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
                    r.AddError($"--signal expects a ws:// or wss:// URL, not '{url}'");
        });
        command.SetAction((p, cancel) => RunAsync(p, cancel));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult p, CancellationToken parserCancel)
    {
        Config config;
        try { config = P2PHostBuilder.LoadConfig(p.GetValue(ConfigFile)); }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or IOException)
        {
            await System.Console.Error.WriteLineAsync($"p2p host: {e.Message.TrimEnd('.')}.");
            return 2;
        }
        // Ctrl+C and SIGTERM close every session (the peers are told) and release TURN allocations, then exit
        using var interrupts = Interrupts.Take("p2p host", P2PHostBuilder.StopTimeout(config), System.Console.Error, parserCancel);
        var cancel = interrupts.Token;
        var stun = p.GetValue(Stun) is { } s && !s.Equals("none", StringComparison.OrdinalIgnoreCase) ? s : null;
        var turn = TurnCommandLine.Read(p.CommandResult, Turn, TurnPort, TurnTcp, TurnTls, TurnCa, TurnFingerprint);
        var servers = await ServerAddresses.ResolveAsync(stun, p.GetValue(StunPort), turn?.Target.Host, turn?.Target.Port ?? TurnCommandLine.DefaultPort,
            p.GetValue(TurnUser), p.GetValue(TurnPass), System.Console.Error, cancel, turn?.Target.Transport ?? TurnTransport.Udp, turn?.Tls);
        if (servers is null) return 1;
        P2PHostBuilder.ConfigureSerilog(p.GetValue(Verbose), p.GetValue(LogFile), LogEventLevel.Error, p.GetValue(LogJson));
        try
        {
            using var host = P2PHostBuilder.Build(config, p.GetValue(Verbose), (_, _) => { }, stopsItself: true);
            await host.StartAsync(cancel);
            var system = host.Services.GetRequiredService<ActorSystem>();
            var peers = system.ActorOf(PeerHost.Props(config), "peers");
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
            if (System.Console.IsOutputRedirected) console.Profile.Width = 160; // tables stay on one line in a pipe
            var local = p.GetValue(LocalAddress) is { } address ? IPAddress.Parse(address) : null;
            var chat = P2P.Actors.Chat.ChatSettings.OrDefault(config);
            if (p.GetValue(DownloadDirectory) is { } folder) chat = chat with { DownloadFolder = Path.GetFullPath(folder) };
            var hostSettings = new HostConsoleSettings(servers.Value.Stun, servers.Value.Turn, local, chat)
            {
                Signal = ChatCommand.SignalUrls(p.GetValue(Signal)) is { Count: > 0 } urls ? urls.Select(url => new Uri(url)).ToArray() : null,
                SignalSettings = P2P.Actors.Signaling.SignalSettings.From(config),
                ClosedRowLinger = config.GetTimeSpan("p2p.console.closed-row-linger", TimeSpan.FromSeconds(5)),
                CloseTimeout = config.GetTimeSpan("p2p.close-timeout", TimeSpan.FromSeconds(1)),
            };
            int result = await new HostConsole(system, peers, hostSettings, console).RunAsync(System.Console.In, cancel);
            await host.StopAsync(CancellationToken.None); // the peers release their TURN allocations here
            return result;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return Interrupts.ExitCode; // interrupted before the console ran
        }
        finally
        {
            await Serilog.Log.CloseAndFlushAsync();
        }
    }
}
