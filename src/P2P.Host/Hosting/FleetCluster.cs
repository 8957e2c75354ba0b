using System.CommandLine;
using System.Net;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;

namespace P2P.Host.Hosting;

/// <summary>
/// How one node of a fleet (<c>p2p signal</c> or <c>p2p relay</c> on several machines) joins the others: its Akka.Remote
/// address (<c>--cluster-host</c>, <c>--cluster-port</c>), the seed nodes it contacts (<c>--seed</c>), its role, and the
/// split-brain resolver that decides which side of a partition stays up. Read from <c>p2p.fleet</c> and the command's
/// own <c>p2p.&lt;role&gt;.fleet</c> section, options over them.
/// </summary>
/// <param name="Host">The address other nodes reach this one at (also where it listens).</param>
/// <param name="Port">The remoting port; 0 picks a free one (a node nobody seeds from).</param>
/// <param name="Seeds">Seed nodes as host:port; the first node of a new fleet lists itself first.</param>
/// <param name="Role">"signal" or "relay": a node only joins a fleet of its own kind.</param>
/// <param name="SplitBrainResolver">keep-majority, keep-oldest or static-quorum (Akka.Cluster's SBR strategies).</param>
/// <param name="JoinTimeout">How long the node waits to be Up in the fleet before it gives up with one sentence.</param>
public sealed record FleetSettings(string Host, int Port, IReadOnlyList<string> Seeds, string Role, string SplitBrainResolver, TimeSpan JoinTimeout)
{
    /// <summary>The name of the actor system every node runs (see <see cref="P2PHostBuilder.Build"/>): part of each seed's address.</summary>
    public const string SystemName = "p2p";

    /// <summary>The Akka address of a seed given as host:port.</summary>
    public static string SeedAddress(string hostPort) => $"akka.tcp://{SystemName}@{hostPort}";
}

public static class FleetCluster
{
    public static readonly Option<string?> ClusterHost = new("--cluster-host")
    {
        HelpName = "ip",
        Description = "Address this node is reached at by the other nodes of its fleet (default 127.0.0.1).",
    };
    public static readonly Option<int?> ClusterPort = new("--cluster-port")
    {
        HelpName = "port",
        Description = "Port of this node's cluster connection: with it (or --seed) the server is one node of a fleet (Akka.Cluster).",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port <= 65535) return port;
            result.AddError($"--cluster-port expects a port number (0-65535), not '{text}'");
            return null;
        },
    };
    public static readonly Option<string[]> Seed = new("--seed")
    {
        HelpName = "host:port",
        Description = "A seed node of the fleet as host:port (repeatable, or comma-separated). The first node of a new fleet lists itself first.",
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary>Adds <c>--cluster-host</c>, <c>--cluster-port</c> and <c>--seed</c> to <paramref name="command"/>.</summary>
    public static void AddOptions(Command command)
    {
        command.Options.Add(ClusterHost);
        command.Options.Add(ClusterPort);
        command.Options.Add(Seed);
    }

    /// <summary>
    /// The fleet settings of a <paramref name="role"/> node, or null when neither <c>--cluster-port</c> nor <c>--seed</c>
    /// (nor <c>p2p.&lt;role&gt;.fleet.seeds</c>) is given: the server then runs alone. Throws <see cref="ArgumentException"/>
    /// with one sentence for a bad value.
    /// </summary>
    public static FleetSettings? From(ParseResult p, Config config, string role)
    {
        var section = (config.GetConfig($"p2p.{role}.fleet") ?? Config.Empty).WithFallback(config.GetConfig("p2p.fleet") ?? Config.Empty);
        var seeds = new List<string>();
        var given = p.GetValue(Seed) is { Length: > 0 } options ? options : (section.GetStringList("seeds") ?? []).ToArray();
        foreach (var text in given.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!TrySplit(text, out var seedHost, out int seedPort)) throw new ArgumentException($"--seed '{text}' is not host:port (such as 127.0.0.1:4053)");
            seeds.Add($"{seedHost}:{seedPort}");
        }
        int? port = p.GetValue(ClusterPort) ?? (section.HasPath("port") && section.GetInt("port") > 0 ? section.GetInt("port") : null);
        if (port is null && seeds.Count == 0) return null;
        string host = p.GetValue(ClusterHost) ?? section.GetString("host", "127.0.0.1");
        if (!IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) == UriHostNameType.Unknown)
            throw new ArgumentException($"--cluster-host '{host}' is not an IP address or host name");
        string sbr = section.GetString("split-brain-resolver", "keep-majority");
        if (sbr is not ("keep-majority" or "keep-oldest" or "static-quorum"))
            throw new ArgumentException($"p2p.{role}.fleet.split-brain-resolver is '{sbr}'; it takes keep-majority, keep-oldest or static-quorum");
        var joinTimeout = section.GetTimeSpan("join-timeout", TimeSpan.FromSeconds(60));
        // a node that lists no seeds starts a fleet of its own (it seeds itself), for the others to seed from
        if (seeds.Count == 0) seeds.Add($"{host}:{port}");
        return new FleetSettings(host, port ?? 0, seeds, role, sbr, joinTimeout);
    }

    /// <summary>
    /// Configures Akka.Remote and Akka.Cluster (through Akka.Cluster.Hosting) for <paramref name="fleet"/>, and lays the
    /// fleet's Akka settings (<c>p2p.fleet.tuning</c>: failure detection, the SBR's stable-after) over the defaults.
    /// </summary>
    public static void Configure(AkkaConfigurationBuilder akka, FleetSettings fleet, Config config)
    {
        if (config.GetConfig("p2p.fleet.tuning") is { } tuning) akka.AddHocon(tuning, HoconAddMode.Prepend);
        akka.WithRemoting(fleet.Host, fleet.Port);
        akka.WithClustering(new ClusterOptions
        {
            Roles = [fleet.Role],
            SeedNodes = fleet.Seeds.Select(FleetSettings.SeedAddress).ToArray(),
            MinimumNumberOfMembers = 1,
            LogInfo = false,
            SplitBrainResolver = fleet.SplitBrainResolver switch
            {
                "keep-oldest" => new KeepOldestOption { DownIfAlone = true, Role = fleet.Role },
                "static-quorum" => new StaticQuorumOption { QuorumSize = fleet.Seeds.Count / 2 + 1, Role = fleet.Role },
                _ => new KeepMajorityOption { Role = fleet.Role },
            },
        });
    }

    /// <summary>Waits until this node is Up in its fleet; false (with the reason) after <see cref="FleetSettings.JoinTimeout"/>.</summary>
    public static async Task<(bool Up, string Reason)> WaitUpAsync(ActorSystem system, FleetSettings fleet)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        try
        {
            await up.Task.WaitAsync(fleet.JoinTimeout);
            return (true, string.Empty);
        }
        catch (TimeoutException)
        {
            return (false, $"did not join the fleet within {fleet.JoinTimeout.TotalSeconds:0} s (seeds {string.Join(", ", fleet.Seeds)}; is the first seed up?)");
        }
    }

    private static bool TrySplit(string text, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) return false;
        host = text[..colon].Trim('[', ']');
        return int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            && port is > 0 and <= 65535 && host.Length > 0;
    }
}
