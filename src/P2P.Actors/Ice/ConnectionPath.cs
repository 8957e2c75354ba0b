using System.Net;
using Akka.Actor;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>
/// The part of one <see cref="Connection"/> that other threads use directly (docs/ARCHITECTURE.md, "The datagram
/// contract"). As an <see cref="IDatagramWriter"/> it is the direct path offered to the layer above (DTLS): while the
/// selected pair is not relayed and has consent, a datagram goes from the caller's thread straight onto the peer's socket,
/// framed with the remote's session tag, instead of through the connection, the peer and the socket actors. As an
/// <see cref="IDatagramReceiver"/> it is what the peer's socket hands the session's datagrams to: the kinds the attached
/// layer above takes go to it at once, skipping the peer and the connection actors. Anything it does not take goes the
/// usual way. The connection actor owns the state and publishes it here; these methods only read it.
/// </summary>
public sealed class ConnectionPath : IDatagramWriter, IDatagramReceiver
{
    private sealed record Route(IUdpWriter Socket, IPEndPoint To, uint? Tag);

    private readonly IUdpWriter? _socket;
    private readonly PacketKind? _upperTakes;
    private volatile Route? _route;
    private volatile IActorRef? _upper;
    private long _bytesOut, _packetsOut, _bytesIn, _packetsIn;
    [ThreadStatic] private static byte[]? t_framed;

    /// <param name="socket">The peer's socket, written from the caller's thread; null: no direct path out (virtual sockets, tests).</param>
    /// <param name="upperTakes">The one kind of datagram (RFC 7983) the layer above takes, on a secure session DTLS; null: all.</param>
    public ConnectionPath(IUdpWriter? socket, PacketKind? upperTakes)
    {
        _socket = socket;
        _upperTakes = upperTakes;
    }

    /// <summary>A path with no direct route either way: everything goes through the actors.</summary>
    public static ConnectionPath None() => new(null, null);

    /// <summary>Whether a datagram of this kind goes up to the attached layer (the connection's own test on the actor path too).</summary>
    internal bool UpperTakes(ReadOnlySpan<byte> datagram) => _upperTakes is not { } kind || PacketDemultiplexer.Classify(datagram) == kind;

    /// <summary>Datagrams and bytes that took the direct paths, out and in.</summary>
    internal (long BytesOut, long PacketsOut, long BytesIn, long PacketsIn) Counts =>
        (Interlocked.Read(ref _bytesOut), Interlocked.Read(ref _packetsOut), Interlocked.Read(ref _bytesIn), Interlocked.Read(ref _packetsIn));

    /// <summary>
    /// On the connection: the pair now in use, or none (consent lost). A pair whose local candidate is the socket's own
    /// (host) or a NAT's mapping of it (server- or peer-reflexive) has a direct route out, as the LocalPeer sends it; a
    /// relayed one needs its TURN client, and a TCP one (RFC 6544) its connection.
    /// </summary>
    internal void Use(SelectedPair? pair, uint? remoteTag) =>
        _route = pair is { } p && p.Local.Type != CandidateType.Relayed && p.Local.Transport == CandidateTransport.Udp && !PortPrediction.IsFound(p.Local) && _socket is { } socket ? new Route(socket, p.Remote.Address, remoteTag) : null;

    /// <summary>On the connection: the layer above, which received datagrams of its kind go to from now on.</summary>
    internal void Attach(IActorRef upper) => _upper = upper;

    /// <summary>The attached layer above; null before <see cref="Attach"/>.</summary>
    internal IActorRef? Upper => _upper;

    public bool TryWrite(ReadOnlySpan<byte> datagram)
    {
        if (_route is not { } route) return false;
        bool sent;
        if (route.Tag is { } tag)
        {
            int length = SessionMux.HeaderLength + datagram.Length;
            var framed = t_framed is { } buffer && buffer.Length >= length ? buffer : t_framed = new byte[Math.Max(length, 2048)];
            SessionMux.Write(framed, tag, datagram);
            sent = route.Socket.TrySendTo(framed.AsSpan(0, length), route.To);
        }
        else sent = route.Socket.TrySendTo(datagram, route.To);
        if (!sent) return false;
        Interlocked.Add(ref _bytesOut, datagram.Length);
        Interlocked.Increment(ref _packetsOut);
        return true;
    }

    public bool TryReceive(ReadOnlySpan<byte> datagram)
    {
        if (_upper is not { } upper || !UpperTakes(datagram)) return false;
        Interlocked.Add(ref _bytesIn, datagram.Length);
        Interlocked.Increment(ref _packetsIn);
        upper.Tell(new DatagramProtocol.Received(OwnedBytes.Copy(datagram)));
        return true;
    }
}
