using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Stun;
using P2P.Actors.Turn;

namespace P2P.Actors.Sessions;

public static class SessionWarmUpProtocol
{
    /// <summary>Runs the warm-up; answered with <see cref="Done"/>.</summary>
    public sealed record Run
    {
        public static readonly Run Instance = new();
    }

    /// <summary>The warm-up is over: <paramref name="Connected"/> when its two sessions connected and carried a message, else why not.</summary>
    public sealed record Done(bool Connected, string? Problem = null);
}

/// <summary>
/// One throw-away secure session between two peers of this process on 127.0.0.1, run to its end (ICE, DTLS, SCTP, a
/// data channel and one message), before a real session that must connect fast (<c>p2p --signal</c>) is opened. A
/// process's first session pays for more than its packets: the JIT compiles ~300 methods on its way (generic
/// collections over our value types, async state machines, log formatting), ~30 ms of CPU on each side, and on the
/// two cores of a machine where both peers start at once that was most of the connect time. Paid here, they are not
/// on the connect path. Its peers live in a host of their own, so no event of theirs reaches the app; the actor
/// answers <see cref="SessionWarmUpProtocol.Run"/> with <see cref="SessionWarmUpProtocol.Done"/> and stops, its peers with it.
/// </summary>
public sealed class SessionWarmUp : ReceiveActor
{
    private const string Label = "warm-up";
    private readonly IActorRef _host;
    private IActorRef _replyTo = ActorRefs.Nobody;
    private readonly Dictionary<string, IActorRef> _sessions = new(StringComparer.Ordinal);
    private int _peersAdded;
    private bool _done;

    public SessionWarmUp(IceSettings ice, StunSettings stun, TurnClientSettings turn)
    {
        // a lite agent sends no checks: two of them would never connect (and the real session's code is the full agent's)
        _host = Context.ActorOf(PeerHost.Props(ice with { Lite = false }, stun, turn), "peers");
        Receive<SessionWarmUpProtocol.Run>(_ =>
        {
            if (!_replyTo.IsNobody()) return;
            _replyTo = Sender;
            foreach (var name in new[] { "warm-up-a", "warm-up-b" })
                _host.Tell(new PeerHostProtocol.AddPeer(new PeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], [])));
        });
        Receive<PeerHostProtocol.PeerAdded>(_ =>
        {
            if (++_peersAdded < 2) return;
            var signaling = Context.ActorOf(LocalSignaling.Props("a", "b", Self), "signaling");
            _host.Tell(new PeerHostProtocol.OpenSession("warm-up-a", "a", Controlling: true, signaling, CandidatePolicy.All, Secure: true));
            _host.Tell(new PeerHostProtocol.OpenSession("warm-up-b", "b", Controlling: false, signaling, CandidatePolicy.All, Secure: true));
        });
        Receive<SessionProtocol.Started>(m => _sessions[m.SessionId] = m.Session);
        Receive<SessionProtocol.Connected>(m =>
        {
            if (m.SessionId == "a") _sessions["a"].Tell(new SessionProtocol.OpenChannel(Label));
        });
        Receive<SessionProtocol.ChannelOpened>(m =>
        {
            if (m.SessionId == "a") _sessions["a"].Tell(new SessionProtocol.SendOnChannel(Label, new byte[] { 1, 2, 3 }));
        });
        Receive<SessionProtocol.ChannelMessage>(m => Finish(new SessionWarmUpProtocol.Done(true)));
        Receive<PeerHostProtocol.PeerNotAdded>(m => Finish(new SessionWarmUpProtocol.Done(false, m.Reason)));
        Receive<PeerHostProtocol.SessionNotOpened>(m => Finish(new SessionWarmUpProtocol.Done(false, m.Reason)));
        Receive<SessionProtocol.Failed>(m => Finish(new SessionWarmUpProtocol.Done(false, m.Reason)));
        ReceiveAny(_ => { }); // candidates, descriptions, channel notices of the throw-away sessions
    }

    public static Props Props(IceSettings ice, StunSettings stun, TurnClientSettings turn) =>
        Akka.Actor.Props.Create(() => new SessionWarmUp(ice, stun, turn));

    private void Finish(SessionWarmUpProtocol.Done done)
    {
        if (_done) return;
        _done = true;
        _replyTo.Tell(done);
        Context.Stop(Self); // the peers, their sockets and sessions with it
    }
}
