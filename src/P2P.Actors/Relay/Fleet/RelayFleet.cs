using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.DistributedData;
using Akka.Event;

namespace P2P.Actors.Relay.Fleet;

/// <summary>Settings of a relay fleet node (<c>p2p.relay.fleet</c> in <c>akka.hocon</c>, where each is explained).</summary>
/// <param name="PublishInterval">At most one write of this node's entry per interval; changes within it are written together at its end.</param>
/// <param name="WriteTimeout">How long a write to all nodes (WriteAll) waits for their acknowledgements; nothing waits on it.</param>
/// <param name="DrainTimeout">The longest a drain (SIGUSR1) waits for the node's allocations to end before it stops anyway.</param>
public sealed record RelayFleetSettings(TimeSpan PublishInterval, TimeSpan WriteTimeout, TimeSpan DrainTimeout)
{
    public static readonly RelayFleetSettings Default = new(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5));

    public static RelayFleetSettings From(Config config)
    {
        var c = config.GetConfig("p2p.relay.fleet") ?? Config.Empty;
        return new RelayFleetSettings(
            c.GetTimeSpan("publish-interval", Default.PublishInterval),
            c.GetTimeSpan("write-timeout", Default.WriteTimeout),
            c.GetTimeSpan("drain-timeout", Default.DrainTimeout));
    }
}

/// <summary>Messages between the <see cref="RelayServer"/> and its <see cref="RelayFleet"/>.</summary>
public static class RelayFleetProtocol
{
    /// <summary>From the relay, whenever its listeners, counts or draining change: the entry the fleet gets to see.</summary>
    public sealed record Publish(RelayNodeEntry Entry);

    /// <summary>To the relay: the other nodes as this node now sees them.</summary>
    public sealed record ViewChanged(RelayFleetView View);

    /// <summary>Ask for the current view (tests, diagnostics); answered with <see cref="ViewChanged"/>.</summary>
    public sealed record GetView
    {
        public static readonly GetView Instance = new();
    }
}

/// <summary>
/// A relay node's part of the fleet-wide state, in Akka.DistributedData: one <see cref="LWWDictionary{TKey,TValue}"/>
/// keyed by node (its unique cluster address), each node the single writer of its own <see cref="RelayNodeEntry"/>. Every
/// node subscribes to the dictionary and hands its <see cref="RelayServer"/> a <see cref="RelayFleetView"/> of the
/// others, so quota and redirect decisions are local reads. A node that leaves or is downed has its entry removed by
/// the survivors (its allocations died with its sockets).
/// <para>
/// Why replicated data and not a sharded per-user entity: an allocation lives on the node that owns its socket, so that
/// node already knows its counts exactly; what the others need is a recent copy. A sharded entity would make every
/// Allocate wait for a round trip to whichever node hosts the user's shard (and fail while that shard moves after a
/// kill -9), and it would hold counts of allocations that live elsewhere, to be corrected when their node dies. Here
/// nothing waits on the network, a dead node's counts vanish with its entry, and a partition leaves each side serving
/// with what it last knew. The price is eventual consistency: two Allocates of one user on two nodes within one
/// replication delay can both pass, so the quota may be exceeded by at most one allocation per other node during that
/// window. Writes go to every node at once (WriteAll, not awaited) and subscribers are notified on a short interval
/// (<c>p2p.relay.fleet.tuning</c>), which keeps the window to about a network round trip plus that interval.
/// </para>
/// </summary>
public sealed class RelayFleet : ReceiveActor, IWithTimers
{
    public static readonly LWWDictionaryKey<string, string> Key = new("p2p-relay-fleet");

    private sealed record PublishTimer
    {
        public static readonly PublishTimer Instance = new();
    }

    private readonly RelayFleetSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly string _self;
    private readonly Dictionary<string, RelayNodeEntry> _others = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreachable = new(StringComparer.Ordinal);
    private IActorRef _relay = ActorRefs.Nobody;
    private RelayNodeEntry? _pending;     // written at the end of the publish interval
    private RelayNodeEntry? _written;
    private long _badEntries;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal); // nodes whose first entry was logged

    public ITimerScheduler Timers { get; set; } = null!;

    public RelayFleet(RelayFleetSettings settings)
    {
        _settings = settings;
        _self = NodeKey(_cluster.SelfUniqueAddress);

        Receive<RelayFleetProtocol.Publish>(p =>
        {
            _relay = Sender;
            if (p.Entry.Equals(_written)) return;
            _pending = p.Entry;
            if (!Timers.IsTimerActive(PublishTimer.Instance)) WritePending();
        });
        Receive<PublishTimer>(_ => WritePending());
        Receive<Changed>(c => { if (c.Key.Equals(Key)) OnChanged(c.Get(Key)); });
        Receive<ClusterEvent.UnreachableMember>(m =>
        {
            if (_unreachable.Add(NodeKey(m.Member.UniqueAddress))) TellView();
        });
        Receive<ClusterEvent.ReachableMember>(m =>
        {
            if (_unreachable.Remove(NodeKey(m.Member.UniqueAddress))) TellView();
        });
        Receive<ClusterEvent.MemberRemoved>(m => Forget(m.Member.UniqueAddress));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<RelayFleetProtocol.GetView>(_ => Sender.Tell(new RelayFleetProtocol.ViewChanged(View())));
        Receive<IUpdateResponse>(_ => { }); // WriteAll's acknowledgement, or its timeout: nobody waits on it
    }

    public static Props Props(RelayFleetSettings settings) => Akka.Actor.Props.Create(() => new RelayFleet(settings));

    /// <summary>A node's key in the dictionary: its unique address (a node restarted on the same port is another node).</summary>
    public static string NodeKey(UniqueAddress node) => $"{node.Address}#{node.Uid}";

    protected override void PreStart()
    {
        _replicator.Tell(Dsl.Subscribe(Key, Self));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        _replicator.Tell(Dsl.Unsubscribe(Key, Self));
    }

    private void WritePending()
    {
        if (_pending is not { } entry) return;
        _pending = null;
        _written = entry;
        string json = entry.ToJson();
        var self = _cluster.SelfUniqueAddress;
        _replicator.Tell(Dsl.Update(Key, LWWDictionary<string, string>.Empty, new WriteAll(_settings.WriteTimeout),
            d => d.SetItem(self, _self, json)));
        Timers.StartSingleTimer(PublishTimer.Instance, PublishTimer.Instance, _settings.PublishInterval);
    }

    private void Forget(UniqueAddress node)
    {
        string key = NodeKey(node);
        _unreachable.Remove(key);
        if (key == _self)
        {
            // downed (or left): this node relays alone from now on, with no view of nodes it cannot hear from any more
            _others.Clear();
            _unreachable.Clear();
            TellView();
            return;
        }
        bool had = _others.Remove(key);
        var self = _cluster.SelfUniqueAddress;
        // every survivor removes it; removing twice is harmless (the dictionary merges removals)
        _replicator.Tell(Dsl.Update(Key, LWWDictionary<string, string>.Empty, WriteLocal.Instance, d => d.ContainsKey(key) ? d.Remove(self, key) : d));
        if (had)
        {
            _log.Info("Relay node {0} left the fleet; its entry is removed", node.Address);
            TellView();
        }
    }

    private void OnChanged(LWWDictionary<string, string> data)
    {
        _others.Clear();
        foreach (var (node, json) in data)
        {
            if (node == _self) continue;
            if (RelayNodeEntry.TryParse(json, out var entry, out var error))
            {
                _others[node] = entry;
                if (_seen.Add(node))
                    _log.Info("Relay node {0} is in this node's fleet view: udp {1}, tcp {2}, {3} of {4} allocations", node,
                        string.Join(", ", entry.Udp), string.Join(", ", entry.Tcp), entry.Allocations, entry.Capacity);
            }
            else if (++_badEntries <= 10) _log.Warning("Ignored the fleet entry of {0}: {1}", node, error);
        }
        TellView();
    }

    private RelayFleetView View() => new(new Dictionary<string, RelayNodeEntry>(_others, StringComparer.Ordinal), new HashSet<string>(_unreachable, StringComparer.Ordinal));

    private void TellView()
    {
        if (!_relay.IsNobody()) _relay.Tell(new RelayFleetProtocol.ViewChanged(View()));
    }
}
