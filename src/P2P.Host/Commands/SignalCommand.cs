using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using P2P.Actors.Signaling;
using P2P.Host.Signal;
using Serilog;

namespace P2P.Host.Commands;

/// <summary>
/// <c>p2p signal</c>: runs the signaling server (one WebSocket endpoint, JSON messages, rooms of two; see
/// <see cref="SignalMessage"/>) until Ctrl+C or SIGTERM. Settings come from <c>p2p.signal</c> in the
/// <c>akka.hocon</c> next to the binary, then an optional <c>--config</c> file, then the options (options win).
/// </summary>
public static class SignalCommand
{
    private static readonly Option<string?> Listen = new("--listen", "-l")
    {
        Description = "Address to listen on, as ip:port or [ipv6]:port (default 127.0.0.1:8090; port 0 picks a free port).",
    };
    private static readonly Option<FileInfo?> ConfigFile = new("--config", "-c") { Description = "A HOCON file layered over akka.hocon (for example with a p2p.signal { ... } section)." };
    private static readonly Option<FileInfo?> LogFile = new("--log") { Description = "Also write the log to this file." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Debug logging." };

    public static Command Create()
    {
        var command = new Command("signal", "Run the signaling server (WebSocket, JSON, rooms of two) until Ctrl+C.")
        {
            Listen, ConfigFile, LogFile, Verbose,
        };
        command.SetAction((parseResult, _) => Run(parseResult));
        return command;
    }

    /// <summary>The settings from the configuration with the options of <paramref name="p"/> over them; throws <see cref="ArgumentException"/> with one sentence.</summary>
    public static SignalSettings BuildSettings(ParseResult p, Config config)
    {
        SignalSettings settings;
        try { settings = SignalSettings.From(config); }
        catch (ConfigurationException e) { throw new ArgumentException(e.Message); }
        catch (FormatException e) { throw new ArgumentException($"bad value in the configuration: {e.Message}"); }
        if (p.GetValue(Listen) is { } listen)
        {
            if (!SignalSettings.TryParseEndPoint(listen, out var endPoint))
                throw new ArgumentException($"--listen '{listen}' is not an address with a port such as 127.0.0.1:8090 or [::1]:8090");
            settings = settings with { Listen = endPoint };
        }
        return settings;
    }

    private static async Task<int> Run(ParseResult p)
    {
        Config config;
        SignalSettings settings;
        try
        {
            config = P2PHostBuilder.LoadConfig(p.GetValue(ConfigFile));
            settings = BuildSettings(p, config);
        }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or IOException)
        {
            Console.Error.WriteLine($"p2p signal: {e.Message.TrimEnd('.')}.");
            return 2;
        }

        bool verbose = p.GetValue(Verbose);
        P2PHostBuilder.ConfigureSerilog(verbose, p.GetValue(LogFile));
        try
        {
            using var host = P2PHostBuilder.Build(config, verbose, (system, registry) =>
                registry.Register<SignalingRooms>(system.ActorOf(SignalingRooms.Props(settings), SignalingRooms.Name)));
            await host.StartAsync();
            var system = host.Services.GetRequiredService<ActorSystem>();
            var rooms = host.Services.GetRequiredService<ActorRegistry>().Get<SignalingRooms>();

            SignalServer server;
            try { server = await SignalServer.StartAsync(system, rooms, settings.Listen, settings); }
            catch (IOException e)
            {
                Console.Error.WriteLine($"p2p signal: cannot listen on {settings.Listen}: {e.Message.TrimEnd('.')}.");
                await host.StopAsync();
                return 1;
            }
            // Ctrl+C / SIGTERM: the server closes its WebSockets in CoordinatedShutdown's first phase (see SignalServer).
            Console.Out.WriteLine($"signal listening on {server.Url}");
            Console.Out.Flush();
            await host.WaitForShutdownAsync();
            return 0;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
