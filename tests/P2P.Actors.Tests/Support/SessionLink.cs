using Akka.Actor;
using P2P.Actors.Sessions;
using P2P.Protocol.Ice;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// Signaling for tests: owns pairs of sessions named "&lt;id&gt;/a" and "&lt;id&gt;/b", passes each side's credentials and
/// trickled candidates to the other (queued until the other side has started), new credentials after an ICE
/// restart likewise, and forwards every other
/// session event to the observer.
/// </summary>
public sealed class SessionLink : ReceiveActor
{
    private readonly Dictionary<string, IActorRef> _sessions = [];
    private readonly Dictionary<string, List<object>> _queued = [];

    public SessionLink(IActorRef observer)
    {
        Receive<SessionProtocol.Started>(m =>
        {
            _sessions[m.SessionId] = m.Session;
            SendToOther(m.SessionId, new SessionProtocol.SetRemoteDescription(m.Description ?? new IceDescription(m.Credentials, []) { IceLite = m.IceLite }));
            if (_queued.Remove(m.SessionId, out var queued)) foreach (var q in queued) m.Session.Tell(q);
            observer.Tell(m);
        });
        Receive<SessionProtocol.Restarted>(m =>
        {
            SendToOther(m.SessionId, new SessionProtocol.SetRemoteDescription(new IceDescription(m.Credentials, [])));
            observer.Tell(m);
        });
        Receive<SessionProtocol.LocalCandidate>(m => SendToOther(m.SessionId, new SessionProtocol.AddRemoteCandidate(m.Candidate)));
        Receive<SessionProtocol.LocalDescription>(m =>
        {
            SendToOther(m.SessionId, new SessionProtocol.RemoteEndOfCandidates());
            observer.Tell(m);
        });
        ReceiveAny(m => observer.Tell(m));
    }

    public static Props Props(IActorRef observer) => Akka.Actor.Props.Create(() => new SessionLink(observer));

    public static string Other(string sessionId) =>
        sessionId.EndsWith("/a", StringComparison.Ordinal) ? sessionId[..^2] + "/b" : sessionId[..^2] + "/a";

    private void SendToOther(string sessionId, object message)
    {
        var other = Other(sessionId);
        if (_sessions.TryGetValue(other, out var session)) session.Tell(message);
        else
        {
            if (!_queued.TryGetValue(other, out var list)) _queued[other] = list = [];
            // credentials must come first, whatever order the events arrived in
            if (message is SessionProtocol.SetRemoteDescription) list.Insert(0, message); else list.Add(message);
        }
    }
}
