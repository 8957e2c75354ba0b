using System.Diagnostics.Metrics;
using Akka.Actor;
using P2P.Actors.Signaling;

namespace P2P.Host.Operations;

/// <summary>
/// A signaling node's instruments (meter <c>p2p.signal</c>), observable ones that read the last snapshot of
/// <see cref="SignalingConnections"/>' stats and the number of rooms living on this node: no work on the signaling path.
/// </summary>
public sealed class SignalMetrics : INodeMetrics
{
    public const string MeterName = "p2p.signal";

    private sealed record Snapshot(SignalingConnections.Stats Stats, int Rooms);

    private readonly IActorRef _connections;
    private readonly Func<CancellationToken, Task<int>> _rooms;
    private readonly TimeSpan _timeout;
    private volatile Snapshot _last = new(new SignalingConnections.Stats(0, 0), 0);

    public Meter Meter { get; } = new(MeterName);

    /// <param name="rooms">How many rooms live on this node (a sharded node asks its shard region).</param>
    public SignalMetrics(IActorRef connections, Func<CancellationToken, Task<int>> rooms, TimeSpan timeout)
    {
        _connections = connections;
        _rooms = rooms;
        _timeout = timeout;
        Meter.CreateObservableGauge("p2p.signal.rooms", () => _last.Rooms, description: "Rooms living on this node.");
        Meter.CreateObservableGauge("p2p.signal.connections", () => _last.Stats.Connections, description: "Open WebSocket connections to this node.");
        Meter.CreateObservableCounter("p2p.signal.joins", () => _last.Stats.Joins, description: "Seats granted in rooms.");
        Meter.CreateObservableCounter("p2p.signal.messages.relayed", () => _last.Stats.Relayed, description: "Descriptions, candidates and end-of-candidates handed to rooms to relay.");
        Meter.CreateObservableCounter("p2p.signal.bad.messages", () => _last.Stats.BadMessages, description: "Client messages answered with an error (bad JSON, wrong order, too large).");
    }

    public async Task RefreshAsync(CancellationToken cancel)
    {
        var stats = await _connections.Ask<SignalingConnections.Stats>(new SignalingConnections.GetStats(), _timeout, cancel);
        int rooms = await _rooms(cancel);
        _last = new Snapshot(stats, rooms);
    }

    /// <summary>The rooms of a shard region on this node: the entities of its shards (Akka.Cluster.Sharding's region state).</summary>
    public static Func<CancellationToken, Task<int>> ShardedRooms(IActorRef region, TimeSpan timeout) => async cancel =>
    {
        var state = await region.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(Akka.Cluster.Sharding.GetShardRegionState.Instance, timeout, cancel);
        return state.Shards.Sum(s => s.EntityIds.Count);
    };

    public void Dispose() => Meter.Dispose();
}
