using ArchUnitNET.Loader;
using Xunit;

namespace P2P.Actors.Tests.Architecture;

/// <summary>
/// The dependency rules of the code, read from the compiled assemblies (ArchUnitNET reads every type reference with
/// Cecil): which folder (namespace) uses which. docs/ARCHITECTURE.md states the same rules in words.
/// </summary>
public sealed class DependencyRuleTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> Graph = new(Load);

    /// <summary>
    /// The folders of P2P.Actors from the bottom up. A folder uses only folders of a lower rank; rank 0 (fault
    /// windows, log limits, the scheduler) serves every folder.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, int> ActorRanks = new Dictionary<string, int>
    {
        ["P2P.Actors.Supervision"] = 0,
        ["P2P.Actors.Dispatch"] = 0,
        ["P2P.Actors.Runtime"] = 0,
        ["P2P.Actors.Transport"] = 1,
        ["P2P.Actors.Stun"] = 2,
        ["P2P.Actors.Relay"] = 2,
        ["P2P.Actors.Mdns"] = 2,
        ["P2P.Actors.Turn"] = 3,
        ["P2P.Actors.Ice"] = 4,
        ["P2P.Actors.Dtls"] = 5,
        ["P2P.Actors.Sctp"] = 6,
        ["P2P.Actors.Sessions"] = 7,
        ["P2P.Actors.Chat"] = 8,
        ["P2P.Actors.Signaling"] = 8,
    };

    /// <summary>
    /// Uses that break the ranks, each listed until it goes. The test fails when one more appears, and when one of
    /// these is gone, so the list only shrinks. Empty since the layers speak the datagram contract (Transport.DatagramProtocol).
    /// </summary>
    private static readonly string[] KnownActorViolations = [];

    [Fact]
    public void P2P_Protocol_uses_neither_Akka_nor_sockets()
    {
        var offending = Graph.Value
            .Where(from => from.Key.StartsWith("P2P.Protocol", StringComparison.Ordinal))
            .SelectMany(from => from.Value
                .Where(to => to.Key.StartsWith("Akka", StringComparison.Ordinal) || to.Key == "System.Net.Sockets")
                .SelectMany(to => to.Value.Split(", ").Where(use => !use.EndsWith("-> AddressFamily", StringComparison.Ordinal)))
                .Select(use => $"{from.Key}: {use}"))
            .ToList();
        // AddressFamily (an enum that says IPv4 or IPv6) lives in System.Net.Sockets; it opens nothing.
        Assert.True(offending.Count == 0, "P2P.Protocol must stay free of actors and sockets:\n" + string.Join('\n', offending));
    }

    [Fact]
    public void Every_folder_of_P2P_Actors_has_a_rank()
    {
        var unranked = Graph.Value.Keys.Where(n => n.StartsWith("P2P.Actors.", StringComparison.Ordinal) && RankOf(n) is null).ToList();
        Assert.True(unranked.Count == 0, "add these folders to ActorRanks: " + string.Join(", ", unranked));
    }

    [Fact]
    public void A_folder_of_P2P_Actors_uses_only_folders_below_it()
    {
        var violations = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (from, uses) in Graph.Value)
        {
            if (RankOf(from) is not { } fromRank) continue;
            foreach (var (to, example) in uses)
            {
                if (RankOf(to) is not { } toRank || toRank == 0 || toRank < fromRank || Folder(from) == Folder(to)) continue;
                violations.TryAdd($"{Folder(from)} -> {Folder(to)}", example);
            }
        }
        var added = violations.Keys.Except(KnownActorViolations).Select(k => $"{k} ({violations[k]})").ToList();
        var gone = KnownActorViolations.Except(violations.Keys).ToList();
        Assert.True(added.Count == 0, "a folder uses one at its own rank or above it:\n" + string.Join('\n', added));
        Assert.True(gone.Count == 0, "no longer used, take it off KnownActorViolations: " + string.Join(", ", gone));
    }

    [Fact]
    public void The_folders_of_P2P_Host_form_no_cycle()
    {
        var host = Graph.Value
            .Where(n => n.Key.StartsWith("P2P.Host.", StringComparison.Ordinal))
            .ToDictionary(n => n.Key, n => n.Value.Keys.Where(k => k.StartsWith("P2P.Host.", StringComparison.Ordinal)).ToList());
        var cycle = FindCycle(host);
        Assert.True(cycle is null, "host folders use each other in a circle: " + (cycle is null ? "" : string.Join(" -> ", cycle)));
    }

    [Fact]
    public void A_cycle_is_found_where_there_is_one()
    {
        Assert.Equal(["b", "c", "b"], FindCycle(new Dictionary<string, List<string>> { ["a"] = ["b"], ["b"] = ["c"], ["c"] = ["b"] }));
        Assert.Null(FindCycle(new Dictionary<string, List<string>> { ["a"] = ["b", "c"], ["b"] = ["c"], ["c"] = [] }));
    }

    private static string Folder(string ns)
    {
        foreach (var name in ActorRanks.Keys)
            if (ns == name || ns.StartsWith(name + ".", StringComparison.Ordinal)) return name;
        return ns;
    }

    private static int? RankOf(string ns) => ActorRanks.TryGetValue(Folder(ns), out int rank) ? rank : null;

    /// <summary>The first cycle met by a depth-first walk, as the path that closes it; null when there is none.</summary>
    internal static List<string>? FindCycle(IReadOnlyDictionary<string, List<string>> edges)
    {
        var state = new Dictionary<string, int>(); // 1 on the path, 2 done
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in edges.TryGetValue(node, out var list) ? list : [])
            {
                if (state.GetValueOrDefault(next) == 1) return [.. path.Skip(path.IndexOf(next)), next];
                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found) return found;
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
        foreach (var node in edges.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle) return cycle;
        return null;
    }

    /// <summary>For each namespace of ours: the namespaces its types use, each with its uses "Type -> Type, ...".</summary>
    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Load()
    {
        var architecture = new ArchLoader().LoadAssemblies(
            typeof(P2P.Protocol.PacketDemultiplexer).Assembly,
            typeof(P2P.Actors.Sessions.LocalPeer).Assembly,
            typeof(P2P.Host.Hosting.Interrupts).Assembly).Build();
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in architecture.Types)
        {
            string from = type.Namespace?.FullName ?? string.Empty;
            if (!from.StartsWith("P2P.", StringComparison.Ordinal)) continue;
            foreach (var dependency in type.Dependencies)
            {
                string to = dependency.Target?.Namespace?.FullName ?? string.Empty;
                if (to.Length == 0 || to == from) continue;
                if (!graph.TryGetValue(from, out var uses)) graph[from] = uses = new Dictionary<string, string>(StringComparer.Ordinal);
                string use = $"{type.Name} -> {dependency.Target!.Name}";
                uses[to] = uses.TryGetValue(to, out var seen) ? (seen.Contains(use, StringComparison.Ordinal) ? seen : $"{seen}, {use}") : use;
            }
        }
        return graph.ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, string>)g.Value, StringComparer.Ordinal);
    }
}
