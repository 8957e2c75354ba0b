using Akka.Actor;
using P2P.Protocol.Ice;

namespace P2P.Actors.Sessions;

/// <summary>
/// Signaling between two sessions of the same process (the host console's <c>open alice bob</c>): the owner of both
/// sessions, it gives each the other's description and trickled candidates (kept until the other has started; the
/// description always first), new credentials after an ICE restart likewise, and forwards every event to the
/// observer.
/// </summary>
public sealed class LocalSignaling : ReceiveActor
{
    private readonly string _a, _b;
    private readonly Dictionary<string, IActorRef> _sessions = [];
    private readonly Dictionary<string, List<object>> _queued = [];

    public LocalSignaling(string a, string b, IActorRef observer)
    {
        _a = a;
        _b = b;
        Receive<SessionProtocol.Started>(m =>
        {
            _sessions[m.SessionId] = m.Session;
            ToOther(m.SessionId, new SessionProtocol.SetRemoteDescription(m.Description ?? new IceDescription(m.Credentials, []) { IceLite = m.IceLite }));
            if (_queued.Remove(m.SessionId, out var queued)) foreach (var q in queued) m.Session.Tell(q);
            observer.Forward(m);
        });
        Receive<SessionProtocol.Restarted>(m =>
        {
            ToOther(m.SessionId, new SessionProtocol.SetRemoteDescription(new IceDescription(m.Credentials, [])));
            observer.Forward(m);
        });
        Receive<SessionProtocol.LocalCandidate>(m => ToOther(m.SessionId, new SessionProtocol.AddRemoteCandidate(m.Candidate)));
        Receive<SessionProtocol.LocalNatReported>(m => ToOther(m.SessionId, new SessionProtocol.SetRemoteDescription(m.Description)));
        Receive<SessionProtocol.LocalDescription>(m =>
        {
            ToOther(m.SessionId, new SessionProtocol.RemoteEndOfCandidates());
            observer.Forward(m);
        });
        ReceiveAny(observer.Forward);
    }

    /// <summary>Links the sessions named <paramref name="a"/> and <paramref name="b"/>; events go on to <paramref name="observer"/>.</summary>
    public static Props Props(string a, string b, IActorRef observer) => Akka.Actor.Props.Create(() => new LocalSignaling(a, b, observer));

    private void ToOther(string sessionId, object message)
    {
        var other = sessionId == _a ? _b : _a;
        if (_sessions.TryGetValue(other, out var session)) session.Tell(message);
        else
        {
            if (!_queued.TryGetValue(other, out var list)) _queued[other] = list = [];
            if (message is SessionProtocol.SetRemoteDescription) list.Insert(0, message); else list.Add(message);
        }
    }
}
