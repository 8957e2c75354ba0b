using Akka.Actor;
using P2P.Actors.Sessions;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// Signaling for tests: owns pairs of sessions named "&lt;id&gt;/a" and "&lt;id&gt;/b", each pair linked by the product's
/// <see cref="LocalSignaling"/> (credentials and trickled candidates to the other side, kept until it started, new
/// credentials after an ICE restart); every event goes on to the observer.
/// </summary>
public sealed class SessionLink : ReceiveActor
{
    private readonly Dictionary<string, IActorRef> _pairs = [];

    public SessionLink(IActorRef observer)
    {
        Receive<SessionProtocol.Started>(m => PairOf(m.SessionId, observer).Forward(m));
        Receive<SessionProtocol.Restarted>(m => PairOf(m.SessionId, observer).Forward(m));
        Receive<SessionProtocol.LocalCandidate>(m => PairOf(m.SessionId, observer).Forward(m));
        Receive<SessionProtocol.LocalDescription>(m => PairOf(m.SessionId, observer).Forward(m));
        ReceiveAny(m => observer.Tell(m));
    }

    public static Props Props(IActorRef observer) => Akka.Actor.Props.Create(() => new SessionLink(observer));

    public static string Other(string sessionId) =>
        sessionId.EndsWith("/a", StringComparison.Ordinal) ? sessionId[..^2] + "/b" : sessionId[..^2] + "/a";

    private IActorRef PairOf(string sessionId, IActorRef observer)
    {
        var id = sessionId[..^2];
        if (!_pairs.TryGetValue(id, out var pair))
            _pairs[id] = pair = Context.ActorOf(LocalSignaling.Props(id + "/a", id + "/b", observer), "pair-" + Uri.EscapeDataString(id));
        return pair;
    }
}
