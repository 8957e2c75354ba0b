using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using P2P.Actors.Relay;
using P2P.Actors.Relay.Fleet;
using P2P.Host.Hosting;
using Serilog;
using Serilog.Events;

namespace P2P.Host.Commands;

/// <summary>
/// <c>p2p relay</c>: runs the STUN/TURN server (RFC 8489, RFC 8656) until Ctrl+C or SIGTERM. Settings
/// come from <c>p2p.relay</c> in the <c>akka.hocon</c> next to the binary, then an optional
/// <c>--config</c> file, then the command-line options (options win).
/// </summary>
public static class RelayCommand
{
    private static readonly Option<string[]> Listen = new("--listen", "-l")
    {
        Description = "Address to listen on for UDP and TCP, as ip:port or [ipv6]:port (repeatable; default 127.0.0.1:3478; port 0 picks a free port).",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<string[]> TlsListen = new("--tls-listen")
    {
        Description = "Address to listen on for TURN over TLS (TCP), as ip:port or [ipv6]:port (repeatable; an address alone takes 5349; 443 passes HTTPS-only firewalls).",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<FileInfo?> Cert = new("--cert") { Description = "PEM file of the TLS certificate (leaf first). Without --cert and --key a self-signed certificate is made at start and its fingerprint printed." };
    private static readonly Option<FileInfo?> Key = new("--key") { Description = "PEM file of the TLS certificate's private key (unencrypted PKCS#8, RSA or EC)." };
    private static readonly Option<string[]> RelayIp = new("--relay-ip")
    {
        Description = "Address that relayed ports are bound to and announced (one per family; default: the listening address).",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<string?> AltIp = new("--alt-ip")
    {
        Description = "A second IP address of this server for RFC 5780 NAT behaviour discovery: the first --listen address of its family also listens on the next port, and this address on both ports (Binding answers then carry OTHER-ADDRESS and honour CHANGE-REQUEST; see p2p nat-type).",
    };
    private static readonly Option<int?> MinPort = Number("--min-port", "Lowest relayed port (default 49152).");
    private static readonly Option<int?> MaxPort = Number("--max-port", "Highest relayed port (default 65535).");
    private static readonly Option<string?> Realm = new("--realm") { Description = "Realm of the long-term credentials (default p2p)." };
    private static readonly Option<string[]> User = new("--user", "-u")
    {
        Description = "A TURN user as name:password (repeatable). Without any user TURN is refused and only STUN Binding is served.",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<string[]> AuthSecret = new("--auth-secret")
    {
        Description = "A shared secret of the TURN REST API (coturn's --static-auth-secret): usernames \"expiry:user\" with the password base64(HMAC-SHA1(secret, username)) are users until their expiry (Unix seconds). Repeatable, to rotate secrets; --user users keep working.",
        Arity = ArgumentArity.OneOrMore,
    };
    private static readonly Option<IPEndPoint?> Metrics = P2P.Host.Operations.OperationsCommandLine.MetricsOption();
    private static readonly Option<bool> AllowLoopback = new("--allow-loopback") { Description = "Allow relaying to loopback peers (127.0.0.0/8, ::1); for tests." };
    private static readonly Option<bool> AllowPrivate = new("--allow-private") { Description = "Allow relaying to private peers (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)." };
    private static readonly Option<int?> MaxAllocations = Number("--max-allocations", "Total allocations before 508 Insufficient Capacity (default 1000).");
    private static readonly Option<int?> UserQuota = Number("--user-quota", "Allocations per user before 486 Allocation Quota Reached (default 10).");
    private static readonly Option<int?> LifetimeMax = Number("--lifetime-max", "Longest allocation lifetime granted, in seconds (default 3600).");
    private static readonly Option<int?> NonceLifetime = Number("--nonce-lifetime", "Seconds a nonce stays valid before 438 Stale Nonce (default 600).");
    private static readonly Option<FileInfo?> ConfigFile = new("--config", "-c") { Description = "A HOCON file layered over akka.hocon (for example with a p2p.relay { users = [...] } section)." };
    private static readonly Option<FileInfo?> LogFile = new("--log") { Description = "Also write the log to this file." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Debug logging." };

    private static Option<int?> Number(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value)) return value;
            result.AddError($"{name} expects a whole number, not '{text}'");
            return null;
        },
    };

    public static Command Create()
    {
        var command = new Command("relay", "Run a STUN/TURN server (RFC 8489 Binding for anyone, RFC 8656 UDP relays for configured users) until Ctrl+C.")
        {
            Listen, TlsListen, Cert, Key, RelayIp, AltIp, MinPort, MaxPort, Realm, User, AuthSecret, AllowLoopback, AllowPrivate, MaxAllocations, UserQuota, LifetimeMax, NonceLifetime,
            Metrics, ConfigFile, LogFile, Verbose,
        };
        FleetCluster.AddOptions(command);
        command.SetAction((parseResult, _) => Run(parseResult));
        return command;
    }

    /// <summary>The settings from the configuration with the options of <paramref name="p"/> over them; throws <see cref="ArgumentException"/> with one sentence.</summary>
    public static RelaySettings BuildSettings(ParseResult p, Config config)
    {
        RelaySettings settings;
        try { settings = RelaySettings.From(config); }
        catch (ConfigurationException e) { throw new ArgumentException(e.Message); }
        catch (FormatException e) { throw new ArgumentException($"bad value in the configuration: {e.Message}"); }

        if (p.GetValue(Listen) is { Length: > 0 } listen)
        {
            var endpoints = new List<IPEndPoint>();
            foreach (var text in listen)
            {
                if (!RelaySettings.TryParseEndPoint(text, out var ep, out var error)) throw new ArgumentException($"--listen {error}");
                endpoints.Add(ep);
            }
            settings = settings with { Listen = endpoints };
        }
        if (p.GetValue(TlsListen) is { Length: > 0 } tlsListen)
        {
            var endpoints = new List<IPEndPoint>();
            foreach (var text in tlsListen)
            {
                if (!RelaySettings.TryParseEndPoint(text, out var ep, out var error, RelaySettings.DefaultTlsPort)) throw new ArgumentException($"--tls-listen {error}");
                endpoints.Add(ep);
            }
            settings = settings with { TlsListen = endpoints };
        }
        if (p.GetValue(Cert) is { } cert) settings = settings with { TlsCertificateFile = cert.FullName };
        if (p.GetValue(Key) is { } key) settings = settings with { TlsKeyFile = key.FullName };
        if (settings.TlsCertificateFile.Length > 0 && settings.TlsListen.Count == 0) throw new ArgumentException("--cert and --key need --tls-listen");
        if (settings.Validate() is { } tlsProblem) throw new ArgumentException(tlsProblem);
        foreach (var (path, what) in new[] { (settings.TlsCertificateFile, "certificate"), (settings.TlsKeyFile, "private key") })
            if (path.Length > 0 && !File.Exists(path)) throw new ArgumentException($"the TLS {what} file {path} does not exist");
        if (p.GetValue(RelayIp) is { Length: > 0 } relayIps)
        {
            var ips = new List<IPAddress>();
            foreach (var text in relayIps)
            {
                if (!IPAddress.TryParse(text, out var ip)) throw new ArgumentException($"--relay-ip '{text}' is not an IP address");
                ips.Add(ip);
            }
            settings = settings with { RelayAddresses = ips };
        }
        if (p.GetValue(AltIp) is { } altText)
        {
            if (!IPAddress.TryParse(altText, out var alt)) throw new ArgumentException($"--alt-ip '{altText}' is not an IP address");
            settings = settings with { AlternateIp = alt };
        }
        if (p.GetValue(User) is { Length: > 0 } users)
        {
            var all = new Dictionary<string, string>(settings.Users, StringComparer.Ordinal);
            foreach (var text in users)
            {
                if (!RelaySettings.TryParseUser(text, out var name, out var password, out var error)) throw new ArgumentException($"--user {error}");
                all[name] = password;
            }
            settings = settings with { Users = all };
        }
        if (p.GetValue(AuthSecret) is { Length: > 0 } secrets)
        {
            if (secrets.Any(string.IsNullOrEmpty)) throw new ArgumentException("--auth-secret must not be empty");
            settings = settings with { AuthSecrets = [.. settings.AuthSecrets, .. secrets] };
        }
        if (p.GetValue(MinPort) is { } min) settings = settings with { MinPort = min };
        if (p.GetValue(MaxPort) is { } max) settings = settings with { MaxPort = max };
        if (p.GetValue(Realm) is { } realm) settings = settings with { Realm = realm };
        if (p.GetValue(AllowLoopback)) settings = settings with { AllowLoopback = true };
        if (p.GetValue(AllowPrivate)) settings = settings with { AllowPrivate = true };
        if (p.GetValue(MaxAllocations) is { } maxAllocations) settings = settings with { MaxAllocations = maxAllocations };
        if (p.GetValue(UserQuota) is { } quota) settings = settings with { UserQuota = quota };
        if (p.GetValue(LifetimeMax) is { } lifetimeMax)
        {
            if (lifetimeMax <= 0) throw new ArgumentException("--lifetime-max must be a positive number of seconds");
            var maxLifetime = TimeSpan.FromSeconds(lifetimeMax);
            settings = settings with
            {
                MaxLifetime = maxLifetime,
                DefaultLifetime = settings.DefaultLifetime > maxLifetime ? maxLifetime : settings.DefaultLifetime,
            };
        }
        if (p.GetValue(NonceLifetime) is { } nonceLifetime)
        {
            if (nonceLifetime <= 0) throw new ArgumentException("--nonce-lifetime must be a positive number of seconds");
            settings = settings with { NonceLifetime = TimeSpan.FromSeconds(nonceLifetime) };
        }
        if (settings.Validate() is { } problem) throw new ArgumentException(problem);
        return settings;
    }

    /// <summary>SIGUSR1 (10 on Linux, 30 on macOS and the BSDs), which .NET takes as a raw <see cref="PosixSignal"/> value.</summary>
    private static PosixSignal UserSignal1 => (PosixSignal)(OperatingSystem.IsLinux() ? 10 : 30);

    /// <summary>Remoting and clustering as every fleet node has them, then the relay's own Akka tuning (<c>p2p.relay.fleet.tuning</c>) over them.</summary>
    private static void ConfigureFleet(AkkaConfigurationBuilder akka, FleetSettings fleet, Config config)
    {
        FleetCluster.Configure(akka, fleet, config);
        if (config.GetConfig("p2p.relay.fleet.tuning") is { } tuning) akka.AddHocon(tuning, HoconAddMode.Prepend);
    }

    /// <summary>A relay the fleet removed (downed by the split-brain resolver) keeps relaying alone, and says so once.</summary>
    private static void WatchFleetMembership(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        cluster.RegisterOnMemberRemoved(() =>
        {
            if (cluster.Settings.RunCoordinatedShutdownWhenDown || system.WhenTerminated.IsCompleted || CoordinatedShutdown.Get(system).ShutdownReason is not null) return;
            Log.Warning("This relay was removed from its fleet (downed or partitioned away): it keeps relaying its allocations alone, " +
                "its quotas count only itself; restart it to join the fleet again");
        });
    }

    private static int _draining;

    /// <summary>The first SIGUSR1: no new allocations here (300 to another node, or 508), then a stop once the last allocation ended or the timeout passed.</summary>
    private static async Task DrainThenStop(IHost host, IActorRef relay, TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _draining, 1) == 1) return;
        var allocations = await relay.Ask<RelayServerProtocol.Stats>(new RelayServerProtocol.GetStats(), TimeSpan.FromSeconds(5));
        Console.Out.WriteLine($"relay draining: new allocations go to other nodes; stopping when the {allocations.Allocations} allocations here have ended, or in {timeout.TotalSeconds:0} s");
        Console.Out.Flush();
        try
        {
            await relay.Ask<RelayServerProtocol.Drained>(RelayServerProtocol.Drain.Instance, timeout);
            Console.Out.WriteLine("relay drained: stopping");
        }
        catch (AskTimeoutException)
        {
            Console.Out.WriteLine($"relay drain timed out after {timeout.TotalSeconds:0} s: stopping with allocations left");
        }
        Console.Out.Flush();
        host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
    }

    private static async Task<int> Run(ParseResult p)
    {
        if (!P2PHostBuilder.TryLoadSettings("relay", p.GetValue(ConfigFile), c => BuildSettings(p, c), out var config, out var settings)) return 2;

        FleetSettings? fleet;
        try { fleet = FleetCluster.From(p, config, "relay"); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"p2p relay: {e.Message}.");
            return 2;
        }
        var fleetSettings = RelayFleetSettings.From(config);

        bool verbose = p.GetValue(Verbose);
        // stdout carries the relay's own output (the line with its addresses); the log goes to stderr, every level of it
        P2PHostBuilder.ConfigureSerilog(verbose, p.GetValue(LogFile));

        try
        {
            using var host = P2PHostBuilder.Build(config, verbose, (system, registry) =>
            {
                // a fleet node publishes its entry through its RelayFleet and decides quotas and redirects from the others'
                var fleetActor = fleet is null ? null : system.ActorOf(RelayFleet.Props(fleetSettings), "relay-fleet");
                var relay = system.ActorOf(RelayServer.Props(settings, fleet: fleetActor), "relay");
                registry.Register<RelayServer>(relay);
            }, configure: fleet is null ? null : akka => ConfigureFleet(akka, fleet, config));
            await host.StartAsync();

            var relay = host.Services.GetRequiredService<ActorRegistry>().Get<RelayServer>();
            object status;
            try { status = await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), TimeSpan.FromSeconds(30)); }
            catch (AskTimeoutException) { status = new RelayServerProtocol.ListenFailed("the listeners did not start within 30 s"); }
            if (status is RelayServerProtocol.ListenFailed failed)
            {
                Console.Error.WriteLine($"p2p relay: {failed.Reason}.");
                await host.StopAsync();
                return 1;
            }
            var listening = (RelayServerProtocol.Listening)status;
            int users = settings.Users.Count;
            string rest = settings.AuthSecrets.Count == 0 ? string.Empty
                : $"{(users == 0 ? "no static users, " : string.Empty)}TURN REST credentials with {(settings.AuthSecrets.Count == 1 ? "1 auth secret" : $"{settings.AuthSecrets.Count} auth secrets")}";
            string tls = listening.Tls is { Count: > 0 } tlsEndPoints ? $", tls {string.Join(", ", tlsEndPoints)}" : string.Empty;
            Console.Out.WriteLine(
                $"relay listening on udp {string.Join(", ", listening.Udp)}, tcp {string.Join(", ", listening.Tcp)}{tls} " +
                $"(realm {settings.Realm}, {(rest.Length > 0 && users == 0 ? rest : (users == 0 ? "no users: STUN only" : users == 1 ? "1 user" : $"{users} users") + (rest.Length > 0 ? ", " + rest : string.Empty))})");
            if (listening.TlsFingerprint is { } fingerprint)
                Console.Out.WriteLine(settings.TlsCertificateFile.Length > 0
                    ? $"tls certificate {fingerprint} (from {settings.TlsCertificateFile})"
                    : $"tls certificate {fingerprint} (self-signed, made at start: clients pin this fingerprint)");
            if (fleet is not null)
            {
                var system = host.Services.GetRequiredService<ActorSystem>();
                var (up, reason) = await FleetCluster.WaitUpAsync(system, fleet);
                if (!up)
                {
                    Console.Error.WriteLine($"p2p relay: {reason}.");
                    await host.StopAsync();
                    return 1;
                }
                Console.Out.WriteLine($"relay fleet node {Akka.Cluster.Cluster.Get(system).SelfAddress} up (seeds {string.Join(", ", fleet.Seeds)})");
                WatchFleetMembership(system);
            }
            Console.Out.Flush();

            // SIGUSR1: drain, then stop (p2p.relay.fleet.drain-timeout at most); SIGTERM / Ctrl+C still stop at once
            using var drain = PosixSignalRegistration.Create(UserSignal1, context =>
            {
                context.Cancel = true;
                _ = DrainThenStop(host, relay, fleetSettings.DrainTimeout);
            });
            var actorSystem = host.Services.GetRequiredService<ActorSystem>();
            if (!P2P.Host.Operations.OperationsCommandLine.TryStart("relay", config, p.GetValue(Metrics), new P2P.Host.Operations.NodeStatus(actorSystem, "relay"),
                    ops => new P2P.Host.Operations.RelayMetrics(relay, ops.StatsTimeout), out var operations))
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
