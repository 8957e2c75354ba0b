using System.Net;
using Akka.Actor;

namespace P2P.Actors.Transport.Virtual;

/// <summary>
/// A UDP socket on a host of a <see cref="VirtualNetwork"/>: the same protocol as <see cref="UdpSocket"/>
/// (<see cref="UdpSocketProtocol"/>), with the <see cref="VirtualWire"/> in place of the kernel. At start it asks
/// the wire for its port (0 picks a free one, 0.0.0.0 means the host's address) and tells the handler
/// <see cref="UdpSocketProtocol.Bound"/> (with the host's address, never the wildcard) or
/// <see cref="UdpSocketProtocol.BindFailed"/> (then stops). Sends that arrive before the port is bound wait for it.
/// Payloads are copied both ways: no buffer is shared between a sender, the network and a receiver.
/// </summary>
public sealed class VirtualUdpSocket : ReceiveActor, IWithUnboundedStash
{
    private readonly IActorRef _wire;
    private readonly string _host;
    private readonly IPEndPoint _requested;
    private readonly IActorRef _handler;
    private IPEndPoint? _local;
    private long _datagramsIn, _datagramsOut, _bytesIn, _bytesOut;

    public IStash Stash { get; set; } = null!;

    public VirtualUdpSocket(IActorRef wire, string host, IPEndPoint bind, IActorRef handler)
    {
        _wire = wire;
        _host = host;
        _requested = bind;
        _handler = handler;
        Binding();
    }

    /// <param name="wire">The network's <see cref="VirtualWire"/>.</param>
    /// <param name="host">Name of the host the socket lives on.</param>
    /// <param name="bind">Address (the host's, or 0.0.0.0) and port (0 for any free one).</param>
    /// <param name="handler">Gets the bind outcome and every <see cref="UdpSocketProtocol.Received"/>.</param>
    public static Props Props(IActorRef wire, string host, IPEndPoint bind, IActorRef handler) =>
        Akka.Actor.Props.Create(() => new VirtualUdpSocket(wire, host, bind, handler));

    protected override void PreStart() => _wire.Tell(new VirtualNetworkProtocol.Bind(_host, _requested), Self);

    protected override void PostStop()
    {
        if (_local is not null) _wire.Tell(new VirtualNetworkProtocol.Unbind(_host, _local.Port), Self);
    }

    private void Binding()
    {
        Receive<UdpSocketProtocol.Bound>(bound =>
        {
            _local = bound.LocalEndPoint;
            _handler.Tell(bound, Self);
            Stash.UnstashAll();
            Become(Active);
        });
        Receive<UdpSocketProtocol.BindFailed>(failed =>
        {
            _handler.Tell(failed, Self);
            Context.Stop(Self);
        });
        Receive<UdpSocketProtocol.Send>(_ => Stash.Stash());
        Receive<UdpSocketProtocol.GetStats>(_ => ReplyStats());
    }

    private void Active()
    {
        Receive<UdpSocketProtocol.Send>(send =>
        {
            _datagramsOut++;
            _bytesOut += send.Payload.Length;
            _wire.Tell(new VirtualNetworkProtocol.Transmit(_host, _local!, send.To, send.Payload.ToArray()), Self);
        });
        Receive<VirtualNetworkProtocol.Deliver>(deliver =>
        {
            _datagramsIn++;
            _bytesIn += deliver.Payload.Length;
            _handler.Tell(new UdpSocketProtocol.Received(deliver.From, _local!, deliver.Payload), Self);
        });
        Receive<UdpSocketProtocol.GetStats>(_ => ReplyStats());
    }

    private void ReplyStats() => Sender.Tell(new UdpSocketProtocol.Stats(_datagramsIn, _datagramsOut, _bytesIn, _bytesOut, 0));
}

/// <summary>The <see cref="IUdpSocketFactory"/> of one host of a <see cref="VirtualNetwork"/>: its sockets are <see cref="VirtualUdpSocket"/>s.</summary>
public sealed class VirtualUdpSockets : IUdpSocketFactory
{
    private readonly IActorRef _wire;

    internal VirtualUdpSockets(IActorRef wire, string host)
    {
        _wire = wire;
        Host = host;
    }

    /// <summary>The host the sockets are bound on.</summary>
    public string Host { get; }

    public Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpRouter? router = null) => VirtualUdpSocket.Props(_wire, Host, bind, handler);

    public override string ToString() => $"virtual UDP sockets of host {Host}";
}
