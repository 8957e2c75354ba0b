using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Host.Chat;
using P2P.Host.Hosting;
using P2P.Protocol.Nat;

namespace P2P.Host.Commands;

/// <summary>
/// <c>p2p nat-type --stun host:port</c>: RFC 5780 NAT behaviour discovery against one server (ours with <c>--alt-ip</c>,
/// or coturn with two listening addresses), one line per finding in plain words, or one JSON object with
/// <c>--json</c>. Exit code 0 when the server answered (what could not be told is said), 1 when it did not, 2 for bad options.
/// </summary>
public static class NatTypeCommand
{
    private static readonly Option<string> Stun = new("--stun")
    {
        HelpName = "host:port",
        Description = "The RFC 5780 STUN server (p2p relay --alt-ip, or coturn with two listening IPs); the port defaults to 3478.",
        Required = true,
    };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object instead of sentences." };
    private static readonly Option<int?> Timeout = new("--timeout")
    {
        HelpName = "seconds",
        Description = "Give up after this many seconds (default: p2p.stun.nat-discovery.command-timeout, 30 s, plus the lifetime probe's longest wait with --lifetime).",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0) return value;
            result.AddError($"--timeout expects a positive whole number of seconds, not '{text}'");
            return null;
        },
    };
    private static readonly Option<bool> Lifetime = new("--lifetime")
    {
        Description = "Also estimate how long an idle mapping lasts (RFC 5780 §4.6); takes up to p2p.stun.nat-discovery.lifetime-max.",
    };
    private static readonly Option<FileInfo?> ConfigFile = new("--config", "-c") { Description = "A HOCON file layered over akka.hocon (p2p.stun.nat-discovery holds the timeouts)." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Log what each test does (on stderr)." };

    public static Command Create()
    {
        var command = new Command("nat-type", "Find how the NAT in front of this host behaves (RFC 5780: mapping, filtering, hairpinning, port allocation, mapping lifetime).")
        {
            Stun, Json, Timeout, Lifetime, ConfigFile, Verbose,
        };
        command.SetAction((parseResult, cancel) => Run(parseResult, cancel));
        return command;
    }

    private static async Task<int> Run(ParseResult p, CancellationToken cancel)
    {
        bool json = p.GetValue(Json);
        if (!P2PHostBuilder.TryLoadSettings("nat-type", p.GetValue(ConfigFile), c => NatDiscoverySettings.From(c), out var config, out var settings)) return 2;
        if (p.GetValue(Lifetime)) settings = settings with { LifetimeProbe = true };
        if (!TrySplit(p.GetValue(Stun)!, out string host, out int port, out string? problem))
        {
            Console.Error.WriteLine($"p2p nat-type: {problem}.");
            return 2;
        }
        var address = await ServerAddresses.ResolveHostAsync(host, cancel);
        if (address is null)
        {
            return Failed(json, $"cannot resolve the STUN server '{host}'");
        }
        var server = new IPEndPoint(address, port);
        if (!TryLocalAddressToward(server, out var local, out problem)) return Failed(json, problem!);

        var limit = p.GetValue(Timeout) is { } seconds
            ? TimeSpan.FromSeconds(seconds)
            : settings.CommandTimeout + (settings.LifetimeProbe ? settings.LifetimeMax : TimeSpan.Zero);
        var level = p.GetValue(Verbose) ? "DEBUG" : "WARNING";
        var systemConfig = ConfigurationFactory.ParseString($"akka.loglevel = {level}\nakka.stdout-loglevel = {level}\nakka.stdout-logger-class = \"{StandardErrorLogger.ClassName}\"")
            .WithFallback(config);
        using var system = ActorSystem.Create("p2p", systemConfig);
        var inbox = Inbox.Create(system);
        system.ActorOf(NatDiscovery.Props(settings, RealUdpSockets.Instance, server, new IPEndPoint(local, 0), [local], inbox.Receiver), "nat-discovery");
        object outcome;
        try { outcome = await inbox.ReceiveAsync(limit); }
        catch (TimeoutException) { outcome = new Status.Failure(null); }
        if (outcome is not (NatDiscoveryProtocol.NatDiscovered or NatDiscoveryProtocol.NatDiscoveryFailed))
            outcome = new NatDiscoveryProtocol.NatDiscoveryFailed(server, $"discovery did not finish within {limit.TotalSeconds:0} s (--timeout)");
        await system.Terminate();

        if (outcome is NatDiscoveryProtocol.NatDiscoveryFailed failed) return Failed(json, failed.Reason);
        var found = (NatDiscoveryProtocol.NatDiscovered)outcome;
        Console.Out.Write(json ? ToJson(found) + "\n" : string.Join("\n", Describe(found)) + "\n");
        Console.Out.Flush();
        return 0;
    }

    private static int Failed(bool json, string reason)
    {
        if (json) Console.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = reason }));
        Console.Error.WriteLine($"p2p nat-type: {reason.TrimEnd('.')}.");
        return 1;
    }

    /// <summary>"host:port", "host" (port 3478), "[v6]:port".</summary>
    internal static bool TrySplit(string text, out string host, out int port, out string? problem)
    {
        host = text.Trim();
        port = 3478;
        problem = null;
        if (host.Length == 0) { problem = "--stun needs a server such as 127.0.0.1:3478"; return false; }
        int colon = host.LastIndexOf(':');
        bool bracketed = host.StartsWith('[');
        if (colon > 0 && (bracketed ? host[colon - 1] == ']' : host.IndexOf(':') == colon))
        {
            if (!int.TryParse(host[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                problem = $"--stun '{text}' has no valid port (1-65535)";
                return false;
            }
            host = host[..colon];
        }
        host = host.Trim('[', ']');
        if (host.Length == 0) { problem = $"--stun '{text}' has no host"; return false; }
        return true;
    }

    /// <summary>The local address the kernel routes toward <paramref name="server"/> (a connected UDP socket sends nothing).</summary>
    private static bool TryLocalAddressToward(IPEndPoint server, out IPAddress local, out string? problem)
    {
        local = IPAddress.Any;
        problem = null;
        try
        {
            using var probe = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(server);
            local = ((IPEndPoint)probe.LocalEndPoint!).Address;
            return true;
        }
        catch (SocketException e)
        {
            problem = $"no route to the STUN server {server}: {e.Message}";
            return false;
        }
    }

    /// <summary>One line per finding, in words a user understands.</summary>
    internal static IReadOnlyList<string> Describe(NatDiscoveryProtocol.NatDiscovered found)
    {
        var r = found.Report;
        var seen = found.Seen;
        var lines = new List<string>
        {
            $"Server: {found.Server}" + (seen.OtherAddress is { } other ? $" (alternate address {other})" : " (no alternate address)"),
            $"Local address: {seen.Local}, public address: {seen.Mapped}",
            "Mapping: " + r.Mapping switch
            {
                MappingBehavior.NoNat => "no NAT (the public address is this host's own; anyone can reach it unless a firewall filters)",
                MappingBehavior.EndpointIndependent => "endpoint-independent (the same public address for every destination; hole punching works)",
                MappingBehavior.AddressDependent => "address-dependent (a new public port for each destination address; hole punching needs the other side to be easy)",
                MappingBehavior.AddressAndPortDependent => "address-and-port-dependent, a \"symmetric\" NAT (a new public port for each destination; ICE alone cannot go direct to another hard NAT)",
                _ => "unknown (" + (seen.OtherAddress is null ? "the server has no alternate address" : "the alternate address did not answer") + ")",
            },
            "Filtering: " + r.Filtering switch
            {
                FilteringBehavior.EndpointIndependent => "endpoint-independent (once a port is open anyone may send to it)",
                FilteringBehavior.AddressDependent => "address-dependent (only addresses this host has sent to may answer, from any port)",
                FilteringBehavior.AddressAndPortDependent => "address-and-port-dependent (only the exact address and port this host has sent to may answer)",
                _ => "unknown",
            },
            "Hairpinning: " + r.Hairpinning switch
            {
                true => "yes (two hosts behind this NAT reach each other at their public addresses)",
                false => "no (hosts behind this NAT must use their private addresses to reach each other)",
                null => "not tested" + (r.Mapping == MappingBehavior.NoNat ? " (no NAT)" : string.Empty),
            },
            "Port allocation: " + r.Allocation switch
            {
                PortAllocation.Preserving => "port-preserving (the public port is the local port)",
                PortAllocation.Sequential => $"sequential (each new mapping takes the previous port {r.PortStep:+0;-0}; the next ports can be predicted)",
                PortAllocation.Random => "random (no pattern; only many tries, the birthday method, can meet these ports)",
                _ => "unknown",
            } + (seen.Allocations.Count > 0 ? $"; seen {string.Join(", ", seen.Allocations.Select(a => $"{a.Local}->{a.Mapped}"))}" : string.Empty),
            "Mapping lifetime: " + (r.MappingLifetime is { } life ? $"at least {life.TotalSeconds:0} s idle" : "not measured (add --lifetime)"),
            "Port prediction: " + (r.PortPrediction ? "on (p2p.ice.port-prediction)" : "off (p2p.ice.port-prediction)"),
        };
        lines.AddRange(found.Notes.Select(n => "Note: " + n));
        return lines;
    }

    /// <summary>The machine-readable form: the report's tokens of a=x-p2p-nat plus what was seen.</summary>
    internal static string ToJson(NatDiscoveryProtocol.NatDiscovered found)
    {
        var r = found.Report;
        var o = new Dictionary<string, object?>
        {
            ["server"] = found.Server.ToString(),
            ["otherAddress"] = found.Seen.OtherAddress?.ToString(),
            ["local"] = found.Seen.Local.ToString(),
            ["mapped"] = found.Seen.Mapped.ToString(),
            ["mapping"] = NatAttribute.Token(r.Mapping),
            ["filtering"] = NatAttribute.Token(r.Filtering),
            ["hairpinning"] = r.Hairpinning,
            ["portAllocation"] = NatAttribute.Token(r.Allocation),
            ["portStep"] = r.PortStep,
            ["allocations"] = found.Seen.Allocations.Select(a => new Dictionary<string, int> { ["local"] = a.Local, ["mapped"] = a.Mapped }).ToList(),
            ["mappingLifetimeSeconds"] = r.MappingLifetime is { } life ? (long)life.TotalSeconds : null,
            ["publicAddress"] = r.PublicAddress?.ToString(),
            ["portPrediction"] = r.PortPrediction,
            ["attribute"] = NatAttribute.Format(r),
            ["notes"] = found.Notes,
        };
        return JsonSerializer.Serialize(o);
    }
}
