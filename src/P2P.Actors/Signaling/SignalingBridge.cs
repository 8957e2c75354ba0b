using Akka.Actor;
using Akka.Event;
using P2P.Actors.Sessions;
using P2P.Protocol.Ice;

namespace P2P.Actors.Signaling;

/// <summary>
/// One session's signaling through <c>p2p signal</c>, as an actor: it runs a <see cref="SignalingClient"/> in a
/// room and is the owner (directly, or behind a chat session) of the session the app opens once it hears
/// <see cref="SignalingProtocol.Joined"/> (whose Controlling flag is the session's role). Our description,
/// trickled candidates and end-of-candidates go to the room; theirs go to the session (kept until it started);
/// an ICE restart's new credentials go out again. Everything else goes on to the observer.
/// </summary>
public sealed class SignalingBridge : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<object> _early = [];
    private IActorRef _client = ActorRefs.Nobody;
    private IActorRef _session = ActorRefs.Nobody;

    public SignalingBridge(IReadOnlyList<Uri> servers, string room, string name, IActorRef observer, SignalSettings settings, bool joinWhenTold = false)
    {
        Receive<SessionProtocol.Started>(m =>
        {
            _session = m.Session;
            if (m.Description is { } description) _client.Tell(new SignalingProtocol.SendDescription(description.Write()));
            // theirs that came before our session started go to it now, in the order they came and ahead of anything
            // still in the mailbox (sent to ourselves again they would fall behind a later end-of-candidates)
            foreach (var early in _early) FromRemote(early);
            _early.Clear();
            observer.Forward(m);
        });
        Receive<SessionProtocol.Restarted>(m =>
        {
            _client.Tell(new SignalingProtocol.SendDescription(new IceDescription(m.Credentials, []).Write()));
            observer.Forward(m);
        });
        Receive<SessionProtocol.LocalCandidate>(m => _client.Tell(new SignalingProtocol.SendCandidate(m.Candidate.ToAttributeValue())));
        Receive<SessionProtocol.LocalNatReported>(m => _client.Tell(new SignalingProtocol.SendDescription(m.Description.Write())));
        Receive<SessionProtocol.LocalDescription>(m =>
        {
            _client.Tell(new SignalingProtocol.SendEndOfCandidates());
            observer.Forward(m);
        });
        Receive<SignalingProtocol.Join>(m => _client.Tell(m));
        Receive<SignalingProtocol.RemoteDescription>(FromRemote);
        Receive<SignalingProtocol.RemoteCandidate>(FromRemote);
        Receive<SignalingProtocol.RemoteEndOfCandidates>(FromRemote);
        ReceiveAny(observer.Forward);
        void FromRemote(object message)
        {
            if (_session.IsNobody())
            {
                _early.Add(message); // theirs before our session started: kept
                return;
            }
            switch (message)
            {
                case SignalingProtocol.RemoteDescription d:
                    if (IceDescription.TryParse(d.Text, skipHostNameCandidates: true, out var description, out var error, out _))
                        _session.Tell(new SessionProtocol.SetRemoteDescription(description));
                    else Refused($"the other peer sent a description that is wrong: {error}");
                    break;
                case SignalingProtocol.RemoteCandidate c:
                    if (IceCandidate.TryParse(c.Attribute, out var candidate, out var reason)) _session.Tell(new SessionProtocol.AddRemoteCandidate(candidate));
                    else Refused($"ignored a candidate from the other peer: {reason}");
                    break;
                case SignalingProtocol.RemoteEndOfCandidates:
                    _session.Tell(new SessionProtocol.RemoteEndOfCandidates());
                    break;
            }
        }
        void Refused(string reason)
        {
            _log.Warning("[{0}] {1}", room, reason);
            observer.Tell(new SignalingProtocol.RemoteSignalRefused(reason));
        }
        _client = Context.ActorOf(SignalingClient.Props(servers, room, name, Self, settings, joinWhenTold), "client");
    }

    /// <param name="joinWhenTold">The client opens its connection at once but joins the room only on <see cref="SignalingProtocol.Join"/>.</param>
    public static Props Props(Uri server, string room, string name, IActorRef observer, SignalSettings settings, bool joinWhenTold = false) =>
        Props([server], room, name, observer, settings, joinWhenTold);

    /// <param name="servers">The nodes of a signaling fleet (or one server), in the order the client tries them.</param>
    /// <param name="joinWhenTold">The client opens its connection at once but joins the room only on <see cref="SignalingProtocol.Join"/>.</param>
    public static Props Props(IReadOnlyList<Uri> servers, string room, string name, IActorRef observer, SignalSettings settings, bool joinWhenTold = false) =>
        Akka.Actor.Props.Create(() => new SignalingBridge(servers, room, name, observer, settings, joinWhenTold));
}
