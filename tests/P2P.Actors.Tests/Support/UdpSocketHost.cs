using System.Net;
using Akka.Actor;
using P2P.Actors.Transport;

namespace P2P.Actors.Tests.Support;

/// <summary>
/// A test stand-in for the LocalPeer that owns a socket: it creates a real <see cref="UdpSocket"/> child and one
/// client child (made by a factory that gets the socket), forwards to the client the datagrams that come from
/// <c>server</c>, and forwards every other message it gets (commands from the test) to the client too.
/// <see cref="UdpSocketProtocol.Bound"/> goes to the observer. <see cref="StopClient"/> and <see cref="StartClient"/>
/// replace the client on the same socket (so the same 5-tuple).
/// </summary>
public sealed class UdpSocketHost : ReceiveActor
{
    /// <summary>Stop the client (its PostStop still sends through the socket).</summary>
    public sealed record StopClient
    {
        public static readonly StopClient Instance = new();
    }

    /// <summary>Start a new client on the same socket, once the previous one has stopped.</summary>
    public sealed record StartClient
    {
        public static readonly StartClient Instance = new();
    }

    private readonly IPEndPoint _server;
    private readonly Func<IActorRef, Props> _client;
    private readonly IActorRef _socket;
    private IActorRef? _current;
    private bool _restart;
    private int _generation;

    public UdpSocketHost(IPEndPoint bind, IPEndPoint server, Func<IActorRef, Props> client, IActorRef observer)
    {
        _server = server;
        _client = client;
        _socket = Context.ActorOf(UdpSocket.Props(bind, Self), "udp");
        Receive<UdpSocketProtocol.Bound>(b => observer.Tell(b));
        Receive<UdpSocketProtocol.BindFailed>(b => observer.Tell(b));
        Receive<UdpSocketProtocol.Received>(r =>
        {
            if (r.From.Equals(_server)) _current?.Forward(r);
        });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_current)) return;
            _current = null;
            if (_restart) StartNewClient();
        });
        Receive<StopClient>(_ =>
        {
            if (_current is not null) Context.Stop(_current);
        });
        Receive<StartClient>(_ =>
        {
            if (_current is null) StartNewClient();
            else _restart = true;
        });
        ReceiveAny(m => _current?.Forward(m));
        StartNewClient();
    }

    public static Props Props(IPEndPoint bind, IPEndPoint server, Func<IActorRef, Props> client, IActorRef observer) =>
        Akka.Actor.Props.Create(() => new UdpSocketHost(bind, server, client, observer));

    private void StartNewClient()
    {
        _restart = false;
        _current = Context.ActorOf(_client(_socket), $"client-{++_generation}");
        Context.Watch(_current);
    }
}
