using System.Net;
using System.Net.Sockets;

namespace P2P.Actors.Relay.Fleet;

/// <summary>
/// One relay node's local copy of what the other nodes of its fleet published (<see cref="RelayNodeEntry"/>, keyed by
/// node), immutable: <see cref="RelayFleet"/> hands the <see cref="RelayServer"/> a new one whenever the replicated
/// data or the membership changes, so that an Allocate is decided from memory, without a network round trip. Entries
/// of nodes the failure detector calls unreachable still count for quotas (their allocations may be alive) but are
/// never an ALTERNATE-SERVER.
/// </summary>
public sealed class RelayFleetView
{
    public static readonly RelayFleetView Alone = new(new Dictionary<string, RelayNodeEntry>(), new HashSet<string>());

    private readonly IReadOnlyDictionary<string, RelayNodeEntry> _others;
    private readonly IReadOnlySet<string> _unreachable;

    /// <param name="others">The other nodes' entries (this node's own is left out), by node key.</param>
    /// <param name="unreachable">Node keys the failure detector marks unreachable.</param>
    public RelayFleetView(IReadOnlyDictionary<string, RelayNodeEntry> others, IReadOnlySet<string> unreachable)
    {
        _others = others;
        _unreachable = unreachable;
    }

    public IReadOnlyDictionary<string, RelayNodeEntry> Others => _others;

    /// <summary>Allocations <paramref name="user"/> holds on the other nodes, as they last published them.</summary>
    public int AllocationsOf(string user)
    {
        int total = 0;
        foreach (var entry in _others.Values)
            if (entry.Users.TryGetValue(user, out int n)) total += n;
        return total;
    }

    /// <summary>
    /// The ALTERNATE-SERVER for a client that reached this node on a <paramref name="kind"/> listener of
    /// <paramref name="family"/>: an endpoint of that kind and family on the least loaded reachable node with room
    /// (ties: the lowest node key, so that every node picks alike). Null when no node has room.
    /// </summary>
    public IPEndPoint? Alternate(AddressFamily family, ListenerKind kind)
    {
        IPEndPoint? best = null;
        double bestLoad = double.MaxValue;
        foreach (var (node, entry) in _others.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (_unreachable.Contains(node) || !entry.HasRoom || entry.Load >= bestLoad) continue;
            var endpoint = entry.EndPoints(kind).FirstOrDefault(e => e.AddressFamily == family && !e.Address.Equals(IPAddress.Any) && !e.Address.Equals(IPAddress.IPv6Any));
            if (endpoint is null) continue;
            best = endpoint;
            bestLoad = entry.Load;
        }
        return best;
    }
}

/// <summary>What the relay does with a new Allocate, decided from its own counts and the fleet's view (RFC 8656 §7.2, RFC 8489 §10).</summary>
public enum AdmissionOutcome
{
    /// <summary>Make the allocation here.</summary>
    Allocate,
    /// <summary>486 Allocation Quota Reached: the user's allocations on all nodes reach the quota.</summary>
    QuotaReached,
    /// <summary>300 Try Alternate with ALTERNATE-SERVER: this node is full or draining and another has room.</summary>
    TryAlternate,
    /// <summary>508 Insufficient Capacity: full or draining, and no other node has room.</summary>
    InsufficientCapacity,
}

/// <summary>The decision on a new Allocate (a pure function: the relay's counts and the fleet's view in, the outcome out).</summary>
public static class RelayAdmission
{
    /// <param name="userHere">The user's allocations on this node (exact).</param>
    /// <param name="allocationsHere">All allocations on this node, including those being made.</param>
    /// <param name="view">The other nodes, as last published.</param>
    /// <param name="redirectable">False for an Allocate that must stay here (one that redeems a RESERVATION-TOKEN).</param>
    public static (AdmissionOutcome Outcome, IPEndPoint? Alternate) Decide(string user, int userHere, int quota, int allocationsHere, int capacity,
        bool draining, RelayFleetView view, AddressFamily family, ListenerKind kind, bool redirectable = true)
    {
        if (userHere + view.AllocationsOf(user) >= quota) return (AdmissionOutcome.QuotaReached, null);
        if (!draining && allocationsHere < capacity) return (AdmissionOutcome.Allocate, null);
        if (redirectable && view.Alternate(family, kind) is { } alternate) return (AdmissionOutcome.TryAlternate, alternate);
        return (AdmissionOutcome.InsufficientCapacity, null);
    }
}
