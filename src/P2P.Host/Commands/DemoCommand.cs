using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using P2P.Host.Demo;
using Serilog;
using Serilog.Events;
using Spectre.Console;

namespace P2P.Host.Commands;

/// <summary><c>p2p demo</c>: the embedded default; runs everything on 127.0.0.1 in one process and exits 0 when it all worked.</summary>
public static class DemoCommand
{
    private static readonly Option<int> Messages = new("--messages", "-n")
    {
        Description = "Messages to relay through the TURN channel.",
        DefaultValueFactory = _ => 100,
    };
    private static readonly Option<FileInfo?> ConfigFile = new("--config") { Description = "A HOCON file layered over akka.hocon." };
    private static readonly Option<FileInfo?> LogFile = new("--log") { Description = "Also write the log to this file." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Debug logging on the console." };

    public static Command Create()
    {
        var command = new Command("demo", "Run the embedded default on 127.0.0.1: a relay, a STUN query, a TURN allocation and messages through it. No outside server is contacted.")
        {
            Messages, ConfigFile, LogFile, Verbose,
        };
        Messages.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 100_000) r.AddError("--messages must be between 1 and 100000");
        });
        command.SetAction((parseResult, cancel) => Run(parseResult, cancel));
        return command;
    }

    private static async Task<int> Run(ParseResult p, CancellationToken cancel)
    {
        Config config;
        try { config = P2PHostBuilder.LoadConfig(p.GetValue(ConfigFile)); }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or IOException)
        {
            Console.Error.WriteLine($"p2p demo: {e.Message.TrimEnd('.')}.");
            return 2;
        }
        bool verbose = p.GetValue(Verbose);
        // The demo's table is its output; engine logs on the console only from warnings up (all of them with -v or in --log).
        P2PHostBuilder.ConfigureSerilog(verbose, p.GetValue(LogFile), LogEventLevel.Warning);
        try
        {
            using var host = P2PHostBuilder.Build(config, verbose, (_, _) => { });
            await host.StartAsync(cancel);
            var system = host.Services.GetRequiredService<ActorSystem>();
            int result = await new RelayDemo(system, config, p.GetValue(Messages), AnsiConsole.Console).RunAsync(cancel);
            await host.StopAsync(CancellationToken.None);
            return result;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
