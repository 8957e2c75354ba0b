namespace P2P.Actors.Supervision;

/// <summary>
/// Diagnostics and tests, the one fault-injection message: an actor that understands this throws
/// <see cref="InjectedFaultException"/> while handling it, as a bug or an input its code did not expect would, so that
/// its parent's supervision can be exercised on a live session or relay. The session, its children (agent, pair
/// checker, connection, DTLS transport, SCTP association), the chat and a relay's allocations understand it. Told to a
/// session with a <paramref name="Target"/> other than <see cref="FaultTarget.Receiver"/>, it goes on to the child of
/// that role (and the agent hands the pair checker's on to it), which throws.
/// </summary>
/// <param name="Target">Which actor throws, by its role: the one told (the default), or one of a session's children.</param>
/// <param name="OnNextPeerInput">
/// Throw while handling the next message from the remote peer instead of now, so that the fault drops that message
/// (the chat understands this; others throw at once).
/// </param>
public sealed record InjectFault(string Reason, FaultTarget Target = FaultTarget.Receiver, bool OnNextPeerInput = false);

/// <summary>The actor an <see cref="InjectFault"/> is meant for, by its role.</summary>
public enum FaultTarget
{
    /// <summary>The actor it is told to (a session, a chat, a relay allocation, or any child told directly).</summary>
    Receiver,

    /// <summary>A session's ICE agent ("ice").</summary>
    Agent,

    /// <summary>The agent's pair checker ("ice/checks"), which the agent restarts; it rebuilds from the agent's data.</summary>
    PairChecker,

    /// <summary>A session's connection on the selected pair ("connection").</summary>
    Connection,

    /// <summary>A secure session's DTLS transport ("dtls").</summary>
    Dtls,

    /// <summary>A secure session's SCTP association ("sctp").</summary>
    Sctp,
}

/// <summary>Thrown by an actor told <see cref="InjectFault"/>.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>One-for-one supervision whose decision may depend on which child failed (Akka's deciders see only the exception).</summary>
internal sealed class PerChildStrategy(Func<Akka.Actor.IActorRef, Exception, Akka.Actor.Directive> decide)
    : Akka.Actor.OneForOneStrategy(-1, -1, Akka.Actor.SupervisorStrategy.DefaultDecider, loggingEnabled: false)
{
    protected override Akka.Actor.Directive Handle(Akka.Actor.IActorRef child, Exception exception) => decide(child, exception);
}
