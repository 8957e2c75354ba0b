using System.Net.WebSockets;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Supervision;

namespace P2P.Actors.Signaling;

/// <summary>
/// Parent of the server's <see cref="SignalingConnection"/>s (/user/signal-connections): the web server hands each
/// accepted WebSocket here with <see cref="Accept"/>. It counts bad messages over all connections and logs them,
/// at most <see cref="SignalSettings.LogBurst"/> lines per <see cref="SignalSettings.LogInterval"/>. A connection that
/// throws is stopped, not restarted: its socket and read loop cannot be taken over by a fresh instance.
/// </summary>
public sealed class SignalingConnections : ReceiveActor
{
    public const string Name = "signal-connections";

    /// <summary>A new WebSocket from <paramref name="Remote"/>; <paramref name="Done"/> completes when its actor has stopped.</summary>
    public sealed record Accept(WebSocket Socket, string Remote, TaskCompletionSource Done);

    /// <summary>Answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats;

    public sealed record Stats(int Connections, long BadMessages)
    {
        /// <summary>Seats granted in rooms since the server started.</summary>
        public long Joins { get; init; }
        /// <summary>Descriptions, candidates and end-of-candidates handed to rooms to relay.</summary>
        public long Relayed { get; init; }
    }

    /// <summary>
    /// Server shutdown: every connection closes with 1001 Going Away (RFC 6455 §7.4.1), then this actor stops. Use it as
    /// the stop message of <c>GracefulStop</c>.
    /// </summary>
    public sealed record CloseAll;

    /// <summary>A connection answered a bad message (<paramref name="Count"/> so far from it); <paramref name="Who"/> names the peer and its room.</summary>
    internal sealed record BadMessageCounted(string Who, string Reason, int Count);

    internal sealed record GoAway;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LogRateLimit _badMessageLog;
    private long _accepted;
    private long _badMessages;
    private readonly SignalingCounters _counters = new();

    public static Props Props(IActorRef rooms, SignalSettings settings) => Akka.Actor.Props.Create(() => new SignalingConnections(rooms, settings));

    public SignalingConnections(IActorRef rooms, SignalSettings settings)
    {
        _badMessageLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        Receive<Accept>(a => Context.Watch(Context.ActorOf(SignalingConnection.Props(a.Socket, a.Remote, rooms, settings, a.Done, _counters), $"connection-{++_accepted}")));
        Receive<BadMessageCounted>(OnBadMessage);
        Receive<GetStats>(_ => Sender.Tell(new Stats(Context.GetChildren().Count(), _badMessages) { Joins = _counters.Joins, Relayed = _counters.Relayed }));
        Receive<Terminated>(_ => { });
        Receive<CloseAll>(_ =>
        {
            foreach (var child in Context.GetChildren()) child.Tell(new GoAway());
            Become(Draining);
            StopWhenDrained();
        });
    }

    private void Draining()
    {
        Receive<Accept>(a =>
        {
            a.Socket.Abort(); // arrived during shutdown
            a.Done.TrySetResult();
        });
        Receive<BadMessageCounted>(OnBadMessage);
        Receive<Terminated>(_ => StopWhenDrained());
        ReceiveAny(_ => { });
    }

    private void OnBadMessage(BadMessageCounted bad)
    {
        _badMessages++;
        if (_badMessageLog.TryLog(Context.System.Scheduler.Now, out long leftOut))
            _log.Warning("signal: bad message from {0}: {1} ({2} from this connection, {3} in all){4}",
                bad.Who, bad.Reason, bad.Count, _badMessages, LogRateLimit.LeftOutNote(leftOut));
    }

    private void StopWhenDrained()
    {
        if (!Context.GetChildren().Any()) Context.Stop(Self);
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
