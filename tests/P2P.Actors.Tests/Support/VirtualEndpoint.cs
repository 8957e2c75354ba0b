using System.Net;
using Akka.Actor;
using P2P.Actors.Transport;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// A test stand-in for the LocalPeer that owns a socket: it makes one socket with the factory it is given (real or
/// virtual), tells the observer <see cref="Ready"/> once it is bound, hands the packets from a server to the
/// engine client started for that server (<see cref="StartClient"/>: a StunProber, a TurnClient) and every
/// other packet to the observer.
/// </summary>
public sealed class VirtualEndpoint : ReceiveActor
{
    public sealed record Ready(IActorRef Socket, IPEndPoint Local);

    /// <summary>Start a client on the socket for packets from <paramref name="Server"/>; answered with <see cref="ClientStarted"/>.</summary>
    public sealed record StartClient(IPEndPoint Server, Func<IActorRef, Props> Props);

    public sealed record ClientStarted(IActorRef Client);

    /// <summary>Answered with <see cref="Pong"/> once everything sent to the endpoint before has been handled.</summary>
    public sealed record Ping
    {
        public static readonly Ping Instance = new();
    }

    public sealed record Pong
    {
        public static readonly Pong Instance = new();
    }

    private readonly Dictionary<IPEndPoint, IActorRef> _clients = [];
    private int _generation;

    public VirtualEndpoint(IUdpSocketFactory sockets, IPEndPoint bind, IActorRef observer)
    {
        var socket = Context.ActorOf(sockets.Create(bind, Self), "udp");
        Receive<UdpSocketProtocol.Bound>(b => observer.Tell(new Ready(socket, b.LocalEndPoint)));
        Receive<UdpSocketProtocol.BindFailed>(f => observer.Tell(f));
        Receive<UdpSocketProtocol.Received>(r =>
        {
            if (_clients.TryGetValue(r.From, out var client)) client.Forward(r);
            else observer.Tell(r);
        });
        Receive<StartClient>(s =>
        {
            var client = Context.ActorOf(s.Props(socket), $"client-{++_generation}");
            Context.Watch(client);
            _clients[s.Server] = client;
            Sender.Tell(new ClientStarted(client));
        });
        Receive<Terminated>(t =>
        {
            foreach (var server in _clients.Where(kv => kv.Value.Equals(t.ActorRef)).Select(kv => kv.Key).ToList()) _clients.Remove(server);
        });
        Receive<Ping>(_ => Sender.Tell(Pong.Instance));
    }

    public static Props Props(IUdpSocketFactory sockets, IPEndPoint bind, IActorRef observer) =>
        Akka.Actor.Props.Create(() => new VirtualEndpoint(sockets, bind, observer));
}
