using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using P2P.Host.Demo;
using P2P.Host.Hosting;
using Serilog;
using Serilog.Events;
using Spectre.Console;

namespace P2P.Host.Commands;

/// <summary><c>p2p demo</c>: the embedded default; runs everything on 127.0.0.1 in one process and exits 0 when it all worked.</summary>
public static class DemoCommand
{
    private static readonly Option<bool> Real = new("--real") { Description = "Real UDP sockets on 127.0.0.1 instead of two simulated NATs on the virtual network." };
    private static readonly Option<string> NatA = NatOption("--nat-a", "port-restricted-cone");
    private static readonly Option<string> NatB = NatOption("--nat-b", "port-restricted-cone");
    private static readonly Option<int> FileMiB = new("--file-mib") { HelpName = "MiB", Description = "Size of the file alice sends bob.", DefaultValueFactory = _ => 4 };
    private static readonly Option<int> Lines = new("--lines") { HelpName = "n", Description = "Chat lines each way.", DefaultValueFactory = _ => 3 };

    private static Option<string> NatOption(string name, string fallback)
    {
        var option = new Option<string>(name)
        {
            HelpName = "nat",
            Description = $"NAT in front of {(name == "--nat-a" ? "alice" : "bob")}: {string.Join(", ", PeersDemo.Nats.Keys)}.",
            DefaultValueFactory = _ => fallback,
        };
        option.Validators.Add(r =>
        {
            if (!PeersDemo.Nats.ContainsKey(r.GetValueOrDefault<string>() ?? "")) r.AddError($"{name} must be one of {string.Join(", ", PeersDemo.Nats.Keys)}");
        });
        return option;
    }

    private static readonly Option<FileInfo?> ConfigFile = new("--config") { Description = "A HOCON file layered over akka.hocon." };
    private static readonly Option<FileInfo?> LogFile = new("--log") { Description = "Also write the log to this file." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Debug logging on the console." };

    public static Command Create()
    {
        var command = new Command("demo", "Run the embedded default in one process: our relay, a signaling server and two peers behind simulated NATs; they connect, chat and move a file. No outside server is contacted.")
        {
            Real, NatA, NatB, FileMiB, Lines, ConfigFile, LogFile, Verbose,
        };
        FileMiB.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1024) r.AddError("--file-mib must be between 1 and 1024");
        });
        Lines.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10_000) r.AddError("--lines must be between 1 and 10000");
        });
        command.SetAction((parseResult, cancel) => Run(parseResult, cancel));
        return command;
    }

    private static async Task<int> Run(ParseResult p, CancellationToken parserCancel)
    {
        Config config;
        try { config = P2PHostBuilder.LoadConfig(p.GetValue(ConfigFile)); }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or IOException)
        {
            Console.Error.WriteLine($"p2p demo: {e.Message.TrimEnd('.')}.");
            return 2;
        }
        // Ctrl+C and SIGTERM end the demo: its peers close their sessions and release their allocations, then it exits
        using var interrupts = Interrupts.Take("p2p demo", P2PHostBuilder.StopTimeout(config), Console.Error, parserCancel);
        var cancel = interrupts.Token;
        bool verbose = p.GetValue(Verbose);
        // The demo's table is its output; engine logs on the console only from warnings up (all of them with -v or in --log).
        P2PHostBuilder.ConfigureSerilog(verbose, p.GetValue(LogFile), LogEventLevel.Error);
        try
        {
            using var host = P2PHostBuilder.Build(config, verbose, (_, _) => { }, stopsItself: true);
            await host.StartAsync(cancel);
            var system = host.Services.GetRequiredService<ActorSystem>();
            var options = new DemoOptions(p.GetValue(Real), p.GetValue(NatA)!, p.GetValue(NatB)!, p.GetValue(FileMiB) * 1024 * 1024, p.GetValue(Lines));
            var console = AnsiConsole.Console;
            if (System.Console.IsOutputRedirected) console.Profile.Width = 160; // tables stay on one line in a pipe or a log
            int result;
            try { result = await new PeersDemo(system, config, options, console).RunAsync(cancel); }
            catch (Exception) when (cancel.IsCancellationRequested)
            {
                // interrupted: whatever step was under way stopped with it
                Console.Error.WriteLine("p2p demo: interrupted.");
                result = Interrupts.ExitCode;
            }
            await host.StopAsync(CancellationToken.None);
            return result;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
