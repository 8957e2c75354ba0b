using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using P2P.Actors.Ice;
using P2P.Actors.Stun;
using P2P.Actors.Turn;

namespace P2P.Actors.Sessions;

public static class PeerHostProtocol
{
    /// <summary>Add a local peer; the sender gets <see cref="PeerAdded"/> once its socket is bound, or <see cref="PeerNotAdded"/>.</summary>
    public sealed record AddPeer(LocalPeerSettings Settings);

    public sealed record PeerAdded(string Name, System.Net.IPEndPoint Local);

    public sealed record PeerNotAdded(string Name, string Reason);

    /// <summary>Open a session on one of the peers; events go to <paramref name="Owner"/> (see <see cref="SessionProtocol"/>).</summary>
    public sealed record OpenSession(string Peer, string SessionId, bool Controlling, IActorRef Owner, CandidatePolicy? Policy = null, bool Secure = false);

    /// <summary>Told to the owner when the session could not even be opened (no such peer).</summary>
    public sealed record SessionNotOpened(string SessionId, string Reason);

    /// <summary>The peer releases its TURN allocations and stops (<see cref="LocalPeerProtocol.Release"/>).</summary>
    public sealed record RemovePeer(string Name);

    /// <summary>Hands <see cref="LocalPeerProtocol.AddTurnServers"/> to the peer named <paramref name="Peer"/> (dropped when there is none).</summary>
    public sealed record AddTurnServers(string Peer, IReadOnlyList<P2P.Actors.Turn.TurnServer> Servers);

    /// <summary>
    /// Every peer releases its TURN allocations and stops; answered with <see cref="AllReleased"/> once they have.
    /// The host asks itself this in CoordinatedShutdown's first phase, so a process that ends leaves nothing on the servers.
    /// </summary>
    public sealed record ReleaseAll;

    public sealed record AllReleased(int Peers);

    /// <summary>Answered with <see cref="Peers"/>.</summary>
    public sealed record GetPeers;

    public sealed record Peers(IReadOnlyList<PeerInfo> List);

    public sealed record PeerInfo(string Name, System.Net.IPEndPoint? Local, IActorRef Peer);

    /// <summary>The subscriber hears gathering problems and peer failures (for the console's status line).</summary>
    public sealed record Subscribe(IActorRef Subscriber);
}

/// <summary>
/// /user/peers (docs/ARCHITECTURE.md): owns every local peer of the process. Console commands and the signaling service
/// land here and are sent on to the peer they name. A peer that throws is stopped (its socket and sessions
/// go with it) and the subscribers are told why; the other peers are not affected.
/// </summary>
public sealed class PeerHost : ReceiveActor
{
    private readonly IceSettings _ice;
    private readonly StunSettings _stun;
    private readonly TurnClientSettings _turn;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, (IActorRef Peer, System.Net.IPEndPoint? Local, IActorRef? Requester)> _peers = new(StringComparer.Ordinal);
    private readonly HashSet<IActorRef> _subscribers = [];
    private readonly HashSet<IActorRef> _releasing = [];          // peers asked to release, until Released or Terminated
    private readonly List<IActorRef> _releaseAllRequesters = [];
    private readonly StrongBox<bool> _alive = new(true);         // read by the shutdown task after this actor is gone
    private int _releasedAll;

    public PeerHost(IceSettings ice, StunSettings stun, TurnClientSettings turn)
    {
        _ice = ice;
        _stun = stun;
        _turn = turn;

        Receive<PeerHostProtocol.AddPeer>(m =>
        {
            string name = m.Settings.Name;
            if (_peers.ContainsKey(name))
            {
                Sender.Tell(new PeerHostProtocol.PeerNotAdded(name, $"a peer named '{name}' already exists"));
                return;
            }
            if (!Context.Child($"peer-{name}").IsNobody())
            {
                Sender.Tell(new PeerHostProtocol.PeerNotAdded(name, $"the peer '{name}' is still stopping; try again in a moment"));
                return;
            }
            if (!ActorPath.IsValidPathElement($"peer-{name}"))
            {
                Sender.Tell(new PeerHostProtocol.PeerNotAdded(name, $"'{name}' is not a usable peer name (letters, digits, - and _)"));
                return;
            }
            var peer = Context.ActorOf(LocalPeer.Props(m.Settings, _ice, _stun, _turn), $"peer-{name}");
            Context.Watch(peer);
            _peers[name] = (peer, null, Sender);
        });
        Receive<LocalPeerProtocol.PeerReady>(m =>
        {
            if (!_peers.TryGetValue(m.Name, out var entry)) return;
            _peers[m.Name] = entry with { Local = m.Local, Requester = null };
            entry.Requester?.Tell(new PeerHostProtocol.PeerAdded(m.Name, m.Local));
        });
        Receive<LocalPeerProtocol.PeerFailed>(m =>
        {
            if (_peers.Remove(m.Name, out var entry)) entry.Requester?.Tell(new PeerHostProtocol.PeerNotAdded(m.Name, m.Reason));
            Publish(m);
        });
        Receive<LocalPeerProtocol.GatheringProblem>(Publish);
        Receive<PeerHostProtocol.OpenSession>(m =>
        {
            if (_peers.TryGetValue(m.Peer, out var entry)) entry.Peer.Tell(new LocalPeerProtocol.OpenSession(m.SessionId, m.Controlling, m.Owner, m.Policy, m.Secure));
            else m.Owner.Tell(new PeerHostProtocol.SessionNotOpened(m.SessionId, $"there is no local peer named '{m.Peer}' (add it with 'peer add {m.Peer}')"));
        });
        Receive<PeerHostProtocol.AddTurnServers>(m =>
        {
            if (_peers.TryGetValue(m.Peer, out var entry)) entry.Peer.Tell(new LocalPeerProtocol.AddTurnServers(m.Servers));
        });
        Receive<PeerHostProtocol.RemovePeer>(m =>
        {
            if (!_peers.Remove(m.Name, out var entry)) return;
            entry.Requester?.Tell(new PeerHostProtocol.PeerNotAdded(m.Name, "the peer was removed before it was ready"));
            Release(entry.Peer);
        });
        Receive<PeerHostProtocol.ReleaseAll>(_ =>
        {
            _releaseAllRequesters.Add(Sender);
            foreach (var (name, entry) in _peers)
            {
                entry.Requester?.Tell(new PeerHostProtocol.PeerNotAdded(name, "the process is shutting down"));
                Release(entry.Peer);
            }
            _releasedAll += _peers.Count;
            _peers.Clear();
            AnswerReleaseAll();
        });
        Receive<LocalPeerProtocol.Released>(m =>
        {
            if (m.Allocations > 0) _log.Info("Peer {0} released {1} TURN allocation(s){2}", m.Name, m.Allocations,
                m.Unanswered > 0 ? $", {m.Unanswered} unconfirmed" : string.Empty);
            _releasing.Remove(Sender);
            AnswerReleaseAll();
        });
        Receive<PeerHostProtocol.GetPeers>(_ => Sender.Tell(new PeerHostProtocol.Peers(
            _peers.Select(p => new PeerHostProtocol.PeerInfo(p.Key, p.Value.Local, p.Value.Peer)).ToList())));
        Receive<PeerHostProtocol.Subscribe>(m => _subscribers.Add(m.Subscriber));
        Receive<Terminated>(t =>
        {
            if (_releasing.Remove(t.ActorRef))
            {
                AnswerReleaseAll();
                return;
            }
            var name = _peers.FirstOrDefault(p => p.Value.Peer.Equals(t.ActorRef)).Key;
            if (name is not null && _peers.Remove(name, out var entry))
            {
                entry.Requester?.Tell(new PeerHostProtocol.PeerNotAdded(name, "the peer stopped"));
                Publish(new LocalPeerProtocol.PeerFailed(name, "the peer stopped after a failure"));
            }
        });
    }

    protected override void PreStart()
    {
        var self = Self;
        var alive = _alive;
        var wait = _turn.ReleaseTimeout + TimeSpan.FromSeconds(1);
        CoordinatedShutdown.Get(Context.System).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "release-turn-allocations", async () =>
        {
            if (!alive.Value) return Akka.Done.Instance;
            try
            {
                await self.Ask<PeerHostProtocol.AllReleased>(new PeerHostProtocol.ReleaseAll(), wait);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // the servers are slow or the host is gone: what is left expires on the servers
            }
            return Akka.Done.Instance;
        });
    }

    protected override void PostStop() => _alive.Value = false;

    private void Release(IActorRef peer)
    {
        _releasing.Add(peer);
        peer.Tell(new LocalPeerProtocol.Release());
    }

    private void AnswerReleaseAll()
    {
        if (_releasing.Count > 0 || _releaseAllRequesters.Count == 0) return;
        foreach (var requester in _releaseAllRequesters) requester.Tell(new PeerHostProtocol.AllReleased(_releasedAll));
        _releaseAllRequesters.Clear();
    }

    public static Props Props(IceSettings ice, StunSettings stun, TurnClientSettings turn) =>
        Akka.Actor.Props.Create(() => new PeerHost(ice, stun, turn));

    /// <summary>The host as a configuration describes it: its <c>p2p.ice</c>, <c>p2p.stun</c> and <c>p2p.turn-client</c> sections.</summary>
    public static Props Props(Config config) => Props(IceSettings.From(config), StunSettings.From(config), TurnClientSettings.From(config));

    /// <summary>The host with the built-in defaults (akka.hocon's values).</summary>
    public static Props Props() => Props(IceSettings.Default, StunSettings.Default, TurnClientSettings.Default);

    /// <summary>A peer owns a socket and live sessions that cannot be rebuilt behind their owners' backs: a failing peer is stopped and reported.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "a peer failed and is stopped");
        return Directive.Stop;
    });

    private void Publish(object message)
    {
        foreach (var s in _subscribers) s.Tell(message);
    }
}
