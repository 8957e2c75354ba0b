using System.Net;
using Akka.Actor;
using P2P.Actors.Dtls;
using P2P.Actors.Transport;
using P2P.Protocol;

namespace P2P.Actors.Tests.Dtls;

/// <summary>
/// A wire between two <see cref="DtlsTransport"/>s in one process: every <see cref="DatagramProtocol.Send"/>
/// from one becomes <see cref="DatagramProtocol.Received"/> of the other. Datagrams that arrive before
/// <see cref="Wire"/> are held. Optionally drops the first <c>dropFirstEachWay</c> datagrams in each
/// direction (a lost first flight, so DTLS must retransmit).
/// </summary>
public sealed class DtlsRelay : ReceiveActor
{
    public sealed record Wire(IActorRef A, IActorRef B);

    public sealed record GetCounts;

    public sealed record Counts(int Forwarded, int Dropped);

    private readonly List<(IActorRef From, DatagramProtocol.Send Message)> _held = [];
    private readonly Dictionary<IActorRef, int> _seen = [];
    private IActorRef? _a, _b;
    private int _forwarded, _dropped;

    public DtlsRelay(int dropFirstEachWay)
    {
        Receive<Wire>(w =>
        {
            (_a, _b) = (w.A, w.B);
            foreach (var (from, message) in _held) Forward(from, message, dropFirstEachWay);
            _held.Clear();
        });
        Receive<DatagramProtocol.Send>(m =>
        {
            if (_a is null) _held.Add((Sender, m));
            else Forward(Sender, m, dropFirstEachWay);
        });
        Receive<GetCounts>(_ => Sender.Tell(new Counts(_forwarded, _dropped)));
    }

    public static Props Props(int dropFirstEachWay = 0) => Akka.Actor.Props.Create(() => new DtlsRelay(dropFirstEachWay));

    private void Forward(IActorRef from, DatagramProtocol.Send m, int dropFirst)
    {
        int n = _seen.GetValueOrDefault(from) + 1;
        _seen[from] = n;
        if (n <= dropFirst)
        {
            _dropped++;
            return;
        }
        var to = from.Equals(_a) ? _b : _a;
        _forwarded++;
        to!.Tell(new DatagramProtocol.Received(m.Datagram));
    }
}

/// <summary>
/// One side of a real UDP path on 127.0.0.1: owns a <see cref="UdpSocket"/>, writes the DTLS
/// transport's <see cref="DatagramProtocol.Send"/> datagrams to the remote, and hands back the
/// datagrams from the remote that RFC 7983 classifies as DTLS (what a Connection would do).
/// </summary>
public sealed class UdpDtlsPipe : ReceiveActor
{
    public sealed record Attach(IActorRef Dtls, IPEndPoint Remote);

    private readonly List<DatagramProtocol.Send> _held = [];
    private IActorRef _socket = ActorRefs.Nobody;
    private IActorRef? _dtls;
    private IPEndPoint? _remote;

    public UdpDtlsPipe(IActorRef observer)
    {
        Receive<UdpSocketProtocol.Bound>(b => observer.Tell(b));
        Receive<Attach>(a =>
        {
            (_dtls, _remote) = (a.Dtls, a.Remote);
            foreach (var m in _held) _socket.Tell(new UdpSocketProtocol.Send(_remote, m.Datagram));
            _held.Clear();
        });
        Receive<DatagramProtocol.Send>(m =>
        {
            if (_remote is null) _held.Add(m);
            else _socket.Tell(new UdpSocketProtocol.Send(_remote, m.Datagram));
        });
        Receive<UdpSocketProtocol.Received>(r =>
        {
            if (_dtls is not null && r.From.Equals(_remote) && PacketDemultiplexer.Classify(r.Payload.Span) == PacketKind.Dtls)
                _dtls.Tell(new DatagramProtocol.Received(r.Payload));
        });
    }

    public static Props Props(IActorRef observer) => Akka.Actor.Props.Create(() => new UdpDtlsPipe(observer));

    protected override void PreStart() => _socket = Context.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Loopback, 0), Self), "udp");
}
