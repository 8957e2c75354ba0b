using System.Net;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>
/// One reserved relayed port (RFC 8656 §7.2, §18.9): the port after an allocation's even port, held by a bound UDP
/// socket child (made by the server's <see cref="IUdpSocketFactory"/>) so that no allocation and no other program takes
/// it (the parent hears <see cref="ReservationProtocol.Held"/> once it is bound), until the <see cref="RelaySettings.ReservationLifetime"/> ends or the <see cref="RelayServer"/> stops this actor to
/// allocate the port for the RESERVATION-TOKEN. Either way the socket is closed before this actor's Terminated reaches
/// the server, which then frees the port or binds it for the new allocation. Datagrams that reach the held port are
/// dropped: nothing is relayed before the allocation exists.
/// </summary>
public sealed class Reservation : ReceiveActor, IWithTimers
{
    private sealed record Expired;

    private readonly IPEndPoint _held;
    private readonly TimeSpan _lifetime;
    private readonly IUdpSocketFactory _sockets;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;

    public Reservation(IPEndPoint held, TimeSpan lifetime, IUdpSocketFactory sockets)
    {
        _held = held;
        _lifetime = lifetime;
        _sockets = sockets;
        Receive<UdpSocketProtocol.Bound>(_ =>
        {
            _log.Debug("Port {0} reserved for {1}", _held, _lifetime);
            Context.Parent.Tell(new ReservationProtocol.Held(_held));
        });
        Receive<UdpSocketProtocol.BindFailed>(f =>
        {
            _log.Warning("Reserved port {0} could not be held ({1}): its token gets 508", _held, f.Reason);
            Context.Stop(Self);
        });
        Receive<UdpSocketProtocol.Received>(_ => { });
        Receive<Expired>(_ =>
        {
            _log.Debug("Reservation of {0} expired unused", _held);
            Context.Stop(Self);
        });
    }

    public static Props Props(IPEndPoint held, TimeSpan lifetime, IUdpSocketFactory sockets) =>
        Akka.Actor.Props.Create(() => new Reservation(held, lifetime, sockets));

    /// <summary>The held socket failing ends the reservation (the server frees the port).</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);

    protected override void PreStart()
    {
        Context.ActorOf(_sockets.Create(_held, Self), "held-udp");
        Timers.StartSingleTimer(typeof(Expired), new Expired(), _lifetime);
    }
}
