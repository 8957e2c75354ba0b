using System.CommandLine;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using P2P.Actors.Signaling;
using P2P.Host.Hosting;
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
    private static readonly Option<string[]> TurnUrl = new("--turn-url")
    {
        Description = "A STUN or TURN server each peer is handed when it joins a room: stun:host:port, turn:host:port?transport=udp|tcp, turns:host:port (repeatable). TURN URLs come with fresh time-limited credentials made with --auth-secret.",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<string?> AuthSecret = new("--auth-secret")
    {
        Description = "The relays' shared secret (their --auth-secret, coturn's --static-auth-secret): TURN credentials of the TURN REST API, valid for p2p.signal.ice-servers.credential-ttl (12 h), go to each peer with its room.",
    };
    private static readonly Option<System.Net.IPEndPoint?> Metrics = P2P.Host.Operations.OperationsCommandLine.MetricsOption();
    private static readonly Option<FileInfo?> ConfigFile = new("--config", "-c") { Description = "A HOCON file layered over akka.hocon (for example with a p2p.signal { ... } section)." };
    private static readonly Option<FileInfo?> LogFile = new("--log") { Description = "Also write the log to this file." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Debug logging." };

    public static Command Create()
    {
        var command = new Command("signal", "Run the signaling server (WebSocket, JSON, rooms of two) until Ctrl+C.")
        {
            Listen, TurnUrl, AuthSecret, Metrics, ConfigFile, LogFile, Verbose,
        };
        FleetCluster.AddOptions(command);
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
        if (p.GetValue(TurnUrl) is { Length: > 0 } || p.GetValue(AuthSecret) is not null)
        {
            var ice = settings.IceServers;
            if (p.GetValue(TurnUrl) is { Length: > 0 } given) ice = ice with { Urls = given };
            if (p.GetValue(AuthSecret) is { } secret)
            {
                if (secret.Length == 0) throw new ArgumentException("--auth-secret must not be empty");
                ice = ice with { AuthSecret = secret };
            }
            if (ice.Validate() is { } problem) throw new ArgumentException(problem);
            settings = settings with { IceServers = ice };
        }
        return settings;
    }

    /// <summary>
    /// A one-node cluster on loopback for the rooms' ShardRegion (remoting on a free port, nothing remembered). A room
    /// passivates itself when its last peer leaves; idle passivation is off, since two connected peers stay silent on
    /// the signaling channel for as long as they chat and a passivated room would forget their seats.
    /// </summary>
    private static readonly Config ShardingConfig = ConfigurationFactory.ParseString("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.cluster.min-nr-of-members = 1
        akka.cluster.sharding.state-store-mode = ddata
        akka.cluster.sharding.remember-entities = off
        akka.cluster.sharding.passivate-idle-entity-after = off
        akka.cluster.log-info = off
        """);

    /// <summary>
    /// The actor system's configuration: the one-node cluster for sharding, its periodic tasks timed for one node
    /// (<c>p2p.signal.one-node-cluster</c> in akka.hocon), over <paramref name="config"/>.
    /// </summary>
    public static Config ActorSystemConfig(Config config) =>
        (config.GetConfig("p2p.signal.one-node-cluster") ?? Config.Empty).WithFallback(ShardingConfig).WithFallback(config);

    /// <summary>
    /// A node of a fleet: the rooms' sharding as for one node, but remoting, seeds and the split-brain resolver come from
    /// <see cref="FleetCluster.Configure"/> with Akka's many-node timings; a stop (Ctrl+C, SIGTERM) tells the clients to
    /// reconnect, hands the shards over and leaves the cluster, which takes longer than one node's stop
    /// (<c>p2p.signal.fleet.stop-timeout</c> replaces <c>p2p.stop-timeout</c>).
    /// </summary>
    public static Config FleetActorSystemConfig(Config config) =>
        ConfigurationFactory.ParseString($"p2p.stop-timeout = {(long)config.GetTimeSpan("p2p.signal.fleet.stop-timeout", TimeSpan.FromSeconds(10)).TotalMilliseconds}ms")
            .WithFallback(FleetShardingConfig).WithFallback(config);

    private static readonly Config FleetShardingConfig = ConfigurationFactory.ParseString("""
        akka.cluster.sharding.state-store-mode = ddata
        akka.cluster.sharding.remember-entities = off
        akka.cluster.sharding.passivate-idle-entity-after = off
        """);

    private static async Task<int> Run(ParseResult p)
    {
        if (!P2PHostBuilder.TryLoadSettings("signal", p.GetValue(ConfigFile), c => (BuildSettings(p, c), FleetCluster.From(p, c, "signal")), out var config, out var loaded)) return 2;
        var (settings, fleet) = loaded;

        // The port first: taken or not ours is one sentence, before the cluster starts and has anything to say.
        System.Net.Sockets.Socket listening;
        try { listening = SignalServer.Bind(settings.Listen); }
        catch (System.Net.Sockets.SocketException e)
        {
            Console.Error.WriteLine($"p2p signal: cannot listen on {settings.Listen}: {SignalServer.Describe(e)}.");
            return 1;
        }

        bool verbose = p.GetValue(Verbose);
        // stdout carries the server's own output (the line with its URL); the log goes to stderr, every level of it
        P2PHostBuilder.ConfigureSerilog(verbose, p.GetValue(LogFile));
        try
        {
            // Rooms are entities of Akka.Cluster.Sharding, the room name their id: one node that joins itself, or (with
            // --cluster-port / --seed) one node of a fleet whose rooms are spread over its nodes.
            using var host = fleet is null
                ? P2PHostBuilder.Build(ActorSystemConfig(config), verbose, (_, _) => { })
                : P2PHostBuilder.Build(FleetActorSystemConfig(config), verbose, (_, _) => { }, configure: akka => FleetCluster.Configure(akka, fleet, config));
            await host.StartAsync();
            var system = host.Services.GetRequiredService<ActorSystem>();
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (fleet is null)
            {
                var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                cluster.RegisterOnMemberUp(() => up.TrySetResult());
                cluster.Join(cluster.SelfAddress);
                await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            else if (await FleetCluster.WaitUpAsync(system, fleet) is { Up: false } notUp)
            {
                Console.Error.WriteLine($"p2p signal: {notUp.Reason}.");
                await host.StopAsync();
                return 1;
            }
            var rooms = await Akka.Cluster.Sharding.ClusterSharding.Get(system).StartAsync("signal-room",
                room => SignalingRoom.Props(room, settings, sharded: true),
                Akka.Cluster.Sharding.ClusterShardingSettings.Create(system), new RoomMessageExtractor());

            var server = await SignalServer.StartAsync(system, rooms, listening, settings);
            // Ctrl+C / SIGTERM: the server closes its WebSockets in CoordinatedShutdown's first phase (see SignalServer).
            Console.Out.WriteLine($"signal listening on {server.Url}");
            if (fleet is not null)
                Console.Out.WriteLine($"signal node {cluster.SelfAddress.Host}:{cluster.SelfAddress.Port} of a fleet (seeds {string.Join(", ", fleet.Seeds)})");
            Console.Out.WriteLine($"chat page at {server.PageUrl}?room=<name>");
            Console.Out.Flush();
            if (!P2P.Host.Operations.OperationsCommandLine.TryStart("signal", config, p.GetValue(Metrics), new P2P.Host.Operations.NodeStatus(system, "signal"),
                    ops => new P2P.Host.Operations.SignalMetrics(server.Connections, P2P.Host.Operations.SignalMetrics.ShardedRooms(rooms, ops.StatsTimeout), ops.StatsTimeout),
                    out var operations))
            {
                await host.StopAsync();
                return 1;
            }
            await using (operations)
                await host.WaitForShutdownAsync();
            return 0;
        }
        finally
        {
            await Log.CloseAndFlushAsync();
        }
    }
}
