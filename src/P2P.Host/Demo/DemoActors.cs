using System.Net;
using System.Threading.Channels;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;

namespace P2P.Host.Demo;

/// <summary>Events of the demo's own actors (the engine's events arrive as they are).</summary>
public static class DemoProtocol
{
    public sealed record ClientReady(IPEndPoint Local);

    public sealed record PeerReady(IPEndPoint Local);

    /// <summary>A socket of the demo could not be bound.</summary>
    public sealed record SocketFailed(string Reason);

    /// <summary>Asks the client to allocate a relay on the server it probed.</summary>
    public sealed record StartAllocation;
}

/// <summary>Hands every message it gets to a channel, so the console (the edge) can await the engine's events in order.</summary>
public sealed class EventSink : ReceiveActor
{
    public EventSink(ChannelWriter<object> writer) => ReceiveAny(m => writer.TryWrite(m));

    public static Props Props(ChannelWriter<object> writer) => Akka.Actor.Props.Create(() => new EventSink(writer));
}

/// <summary>
/// The demo's client side: one UDP socket shared by a <see cref="StunProber"/> and a <see cref="TurnAllocator"/>
/// on the same server, as a peer will share its socket between candidates. Binding responses go to the
/// prober, everything else from the server to the allocator; allocator commands are forwarded to it.
/// </summary>
public sealed class DemoClient : ReceiveActor
{
    private readonly IPEndPoint _server;
    private readonly IActorRef _events;
    private readonly IActorRef _socket;
    private IActorRef? _prober;
    private IActorRef? _allocator;

    public DemoClient(IPEndPoint server, StunSettings stun, TurnClientSettings turn, TurnCredentials credentials, IActorRef events)
    {
        _server = server;
        _events = events;
        _socket = Context.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Loopback, 0), Self), "udp");

        Receive<UdpSocketProtocol.Bound>(b =>
        {
            _events.Tell(new DemoProtocol.ClientReady(b.LocalEndPoint));
            _prober = Context.ActorOf(StunProber.Props(stun, _server, _socket, _events), "stun");
        });
        Receive<UdpSocketProtocol.BindFailed>(f => _events.Tell(new DemoProtocol.SocketFailed(f.Reason)));
        Receive<UdpSocketProtocol.Received>(r =>
        {
            if (!r.From.Equals(_server)) return;
            bool bindingResponse = StunMessage.TryParse(r.Payload.Span, out var msg, out _) && msg.Method == StunMethod.Binding;
            (bindingResponse ? _prober : _allocator)?.Forward(r);
        });
        Receive<DemoProtocol.StartAllocation>(_ =>
            _allocator ??= Context.ActorOf(TurnAllocator.Props(turn, _server, credentials, _socket, _events), "turn"));
        ReceiveAny(m => _allocator?.Forward(m));
    }

    public static Props Props(IPEndPoint server, StunSettings stun, TurnClientSettings turn, TurnCredentials credentials, IActorRef events) =>
        Akka.Actor.Props.Create(() => new DemoClient(server, stun, turn, credentials, events));
}

/// <summary>The peer behind the relay: answers every datagram with "echo: " and the same bytes, to whoever sent it.</summary>
public sealed class EchoPeer : ReceiveActor
{
    private static readonly byte[] Prefix = "echo: "u8.ToArray();

    public EchoPeer(IActorRef events)
    {
        var socket = Context.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Loopback, 0), Self), "udp");
        Receive<UdpSocketProtocol.Bound>(b => events.Tell(new DemoProtocol.PeerReady(b.LocalEndPoint)));
        Receive<UdpSocketProtocol.BindFailed>(f => events.Tell(new DemoProtocol.SocketFailed(f.Reason)));
        Receive<UdpSocketProtocol.Received>(r =>
        {
            var reply = new byte[Prefix.Length + r.Payload.Length];
            Prefix.CopyTo(reply, 0);
            r.Payload.Span.CopyTo(reply.AsSpan(Prefix.Length));
            socket.Tell(new UdpSocketProtocol.Send(r.From, reply));
        });
    }

    public static Props Props(IActorRef events) => Akka.Actor.Props.Create(() => new EchoPeer(events));
}
