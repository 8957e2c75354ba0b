namespace P2P.Actors.Supervision;

/// <summary>
/// Diagnostics and tests, the one fault-injection message: an actor that understands this throws
/// <see cref="InjectedFaultException"/> while handling it, as a bug or an input its code did not expect would, so that
/// its parent's supervision can be exercised on a live session or relay. The session's children (agent, pair checker,
/// connection, DTLS transport, SCTP association), the chat and a relay's allocations understand it; a session routes it
/// to one of its children (<c>SessionProtocol.InjectFaultInto</c>).
/// </summary>
/// <param name="OnNextPeerInput">
/// Throw while handling the next message from the remote peer instead of now, so that the fault drops that message
/// (the chat understands this; others throw at once).
/// </param>
public sealed record InjectFault(string Reason, bool OnNextPeerInput = false);

/// <summary>Thrown by an actor told <see cref="InjectFault"/>.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>One-for-one supervision whose decision may depend on which child failed (Akka's deciders see only the exception).</summary>
internal sealed class PerChildStrategy(Func<Akka.Actor.IActorRef, Exception, Akka.Actor.Directive> decide)
    : Akka.Actor.OneForOneStrategy(-1, -1, Akka.Actor.SupervisorStrategy.DefaultDecider, loggingEnabled: false)
{
    protected override Akka.Actor.Directive Handle(Akka.Actor.IActorRef child, Exception exception) => decide(child, exception);
}
