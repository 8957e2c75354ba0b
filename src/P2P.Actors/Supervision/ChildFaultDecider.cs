using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Supervision;

/// <summary>
/// The one supervision policy of a parent whose children hold state the remote peer shares (a session's agent,
/// connection, DTLS transport and SCTP association; a peer's sessions): a child that throws is resumed, keeping its
/// state and dropping the message that caused it, up to a budget of faults within a minute; past it, or when it cannot
/// be resumed (it failed to start, or was killed), it is stopped and the parent reports why. The parent registers each
/// child with its role (the words the log and the reasons use) instead of matching child names; children it did not
/// register get Akka's default. The clock is the actor system scheduler's, so a test scheduler runs it in virtual time.
/// Not thread-safe: the parent's supervisor strategy calls it, on the parent's behalf.
/// </summary>
internal sealed class ChildFaultDecider(IScheduler clock, ILoggingAdapter log, int faultsPerMinute)
{
    private readonly Dictionary<IActorRef, (string Role, string LogId, FaultWindow Window)> _children = [];

    /// <summary>Supervise <paramref name="child"/> by this policy: <paramref name="role"/> names it in the log ("connection", "session"), <paramref name="logId"/> is the session id its lines start with.</summary>
    public void Supervise(IActorRef child, string role, string logId) => _children[child] = (role, logId, new FaultWindow());

    /// <summary>The child is gone: its faults no longer count.</summary>
    public void Forget(IActorRef child) => _children.Remove(child);

    /// <summary>
    /// Records the fault and decides: resume within the budget, else stop. Logs the decision (a warning when resumed,
    /// an error with <paramref name="stoppedNote"/> appended when stopped). False for a child not registered with
    /// <see cref="Supervise"/>, which the caller leaves to Akka's default decider.
    /// </summary>
    public bool TryDecide(IActorRef child, Exception cause, out ChildFaultDecision decision, string stoppedNote = "")
    {
        if (!_children.TryGetValue(child, out var entry))
        {
            decision = default;
            return false;
        }
        var reason = FaultWindow.ReasonOf(cause);
        int recent = entry.Window.Record(clock.Now.ToUnixTimeMilliseconds());
        bool resumable = FaultWindow.IsResumable(cause);
        decision = new ChildFaultDecision(entry.Role, reason, recent, resumable, resumable && recent <= faultsPerMinute ? Directive.Resume : Directive.Stop);
        if (decision.Directive == Directive.Resume)
            log.Warning(cause, "[{0}] the {1} threw ({2}); resumed with its state, the message that caused it dropped (fault {3} in the last minute)",
                entry.LogId, entry.Role, reason, recent);
        else
            log.Error(cause, "[{0}] the {1} failed ({2}) and is stopped{3}", entry.LogId, entry.Role, reason, stoppedNote);
        return true;
    }
}

/// <summary>What <see cref="ChildFaultDecider"/> decided about one fault: the child's role, the fault's reason, how many faults it had within the minute.</summary>
internal readonly record struct ChildFaultDecision(string Role, string Reason, int Recent, bool Resumable, Directive Directive)
{
    /// <summary>Why a stopped child ends its parent's work, said of <paramref name="subject"/> ("the session", "the session's connection").</summary>
    public string StoppedBecause(string subject) => Resumable
        ? $"{subject} failed {Recent} times within a minute (last: {Reason.TrimEnd('.')})"
        : $"{subject} failed: {Reason.TrimEnd('.')}";
}
