using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;

namespace P2P.Actors.Stun;

public static class StunProberProtocol
{
    /// <summary>The server answered: <paramref name="Mapped"/> is our address as the server saw it (the server-reflexive candidate).</summary>
    public sealed record MappedAddressDiscovered(IPEndPoint Server, IPEndPoint Mapped, IPEndPoint? ResponseOrigin, TimeSpan RoundTrip)
    {
        /// <summary>The server's OTHER-ADDRESS (RFC 5780 §7.4): it can run NAT behaviour discovery (<see cref="NatDiscovery"/>).</summary>
        public IPEndPoint? OtherAddress { get; init; }
    }

    /// <summary>The probe ended without an address; <paramref name="Reason"/> is a sentence for the user.</summary>
    public sealed record StunProbeFailed(IPEndPoint Server, string Reason);
}

/// <summary>
/// Finds the server-reflexive address of one socket with one STUN server (RFC 8489 §6, Binding):
/// sends a Binding request through the given socket actor, retransmits it per the RTO schedule, and
/// reports <see cref="StunProberProtocol.MappedAddressDiscovered"/> or, when the server is silent or
/// refuses, <see cref="StunProberProtocol.StunProbeFailed"/>; then stops. Like <see cref="TurnClient"/>
/// it owns no socket: the socket's handler forwards it the packets that come from the server.
/// <para>
/// Over TCP (<see cref="PropsOverTcp"/>) it owns its connection, a <see cref="StunTcpClient"/> child from a given local
/// port (shared with the listener there): the mapping an ICE-TCP simultaneous-open port has in the NAT, its
/// server-reflexive candidate (RFC 6544 §5.2). The request is sent once (RFC 8489 §6.2.2); a connection that fails or
/// ends before the answer fails the probe.
/// </para>
/// </summary>
public sealed class StunProber : ReceiveActor, IWithTimers
{
    private readonly StunSettings _settings;
    private readonly IPEndPoint _server;
    private IActorRef _socket;
    private readonly IActorRef _owner;
    private readonly IPEndPoint? _tcpLocal;       // over TCP: the local port the connection is made from
    private readonly TimeSpan _tcpConnectTimeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private StunTransactions<DateTime> _transactions = null!;

    public StunProber(StunSettings settings, IPEndPoint server, IActorRef socket, IActorRef? owner, IPEndPoint? tcpLocal = null, TimeSpan tcpConnectTimeout = default)
    {
        _settings = settings;
        _server = server;
        _socket = socket;
        _owner = owner ?? Context.Parent;
        _tcpLocal = tcpLocal;
        _tcpConnectTimeout = tcpConnectTimeout;

        Receive<UdpSocketProtocol.Received>(OnReceived);
        Receive<StunTransactionTimer>(OnTimer);
        Receive<UdpSocketProtocol.Bound>(_ => { }); // connected; the request is on its way
        Receive<UdpSocketProtocol.BindFailed>(f => Finish(new StunProberProtocol.StunProbeFailed(_server, f.Reason)));
        Receive<TcpClientProtocol.Disconnected>(d => Finish(new StunProberProtocol.StunProbeFailed(_server, d.Reason)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(StunSettings settings, IPEndPoint server, IActorRef socket, IActorRef? owner = null) =>
        Akka.Actor.Props.Create(() => new StunProber(settings, server, socket, owner, null, default));

    /// <summary>A Binding over TCP to <paramref name="server"/> from <paramref name="local"/> (a port a listener shares), connected within <paramref name="connectTimeout"/>.</summary>
    public static Props PropsOverTcp(StunSettings settings, IPEndPoint server, IPEndPoint local, TimeSpan connectTimeout, IActorRef? owner = null) =>
        Akka.Actor.Props.Create(() => new StunProber(settings, server, ActorRefs.Nobody, owner, local, connectTimeout));

    protected override void PreStart()
    {
        if (_tcpLocal is not null)
            _socket = Context.ActorOf(StunTcpClient.Props(_server, Self, connectTimeout: _tcpConnectTimeout, role: "STUN server", localBind: _tcpLocal), "tcp");
        _transactions = new StunTransactions<DateTime>(_settings.Retransmission, reliable: _tcpLocal is not null, Timers,
            bytes => _socket.Tell(new UdpSocketProtocol.Send(_server, bytes), Self));
        var buffer = new byte[128];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        if (_settings.Software.Length > 0) w.AddString(StunAttributeType.Software, _settings.Software);
        w.AddFingerprint();
        _transactions.Start(w.ToArray(), DateTime.UtcNow);
    }

    private void OnReceived(UdpSocketProtocol.Received received)
    {
        if (!StunMessage.TryParse(received.Payload.Span, out var msg, out var error)
            || msg.Method != StunMethod.Binding || !_transactions.TryComplete(msg.TransactionId, out var sentAt))
        {
            _log.Debug("STUN prober for {0} ignored a packet from {1} ({2})", _server, received.From, error == StunError.None ? "not ours" : error.ToString());
            return;
        }
        var roundTrip = DateTime.UtcNow - sentAt;
        if (msg.Class == StunClass.ErrorResponse)
        {
            string detail = msg.TryGetErrorCode(out int code, out string reason) ? $"{code} {reason.TrimEnd('\0')}" : "an error without ERROR-CODE";
            Finish(new StunProberProtocol.StunProbeFailed(_server, $"STUN server {_server} refused the Binding request ({detail})"));
            return;
        }
        if (!msg.TryGetAddress(StunAttributeType.XorMappedAddress, out var mapped) && !msg.TryGetAddress(StunAttributeType.MappedAddress, out mapped))
        {
            Finish(new StunProberProtocol.StunProbeFailed(_server, $"STUN server {_server} answered without a mapped address"));
            return;
        }
        IPEndPoint? origin = msg.TryGetAddress(StunAttributeType.ResponseOrigin, out var o) ? o.ToEndPoint() : null;
        IPEndPoint? other = msg.TryGetAddress(StunAttributeType.OtherAddress, out var a) ? a.ToEndPoint() : null;
        Finish(new StunProberProtocol.MappedAddressDiscovered(_server, mapped.ToEndPoint(), origin, roundTrip) { OtherAddress = other });
    }

    private void OnTimer(StunTransactionTimer timer)
    {
        if (_transactions.OnTimer(timer, out _, out int sent) != StunTransactionTimerResult.TimedOut) return;
        var total = _settings.Retransmission.TotalTimeout(reliable: _tcpLocal is not null);
        Finish(new StunProberProtocol.StunProbeFailed(_server, _tcpLocal is not null
            ? $"STUN server {_server} did not answer over TCP within {total.TotalSeconds:0.#} s"
            : $"STUN server {_server} did not answer ({sent} requests over {total.TotalSeconds:0.#} s); check the address and that UDP is not blocked"));
    }

    private void Finish(object outcome)
    {
        // over TCP the probe is for an optional candidate: its owner says once what failed
        if (outcome is StunProberProtocol.StunProbeFailed failed)
        {
            if (_tcpLocal is null) _log.Info("STUN probe failed: {0}", failed.Reason);
            else _log.Debug("STUN probe over TCP from {0} failed: {1}", _tcpLocal, failed.Reason);
        }
        _owner.Tell(outcome, Self);
        _transactions.CancelAll();
        Context.Stop(Self);
    }
}
