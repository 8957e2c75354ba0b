using System.Net;
using Akka.Actor;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>The transport between a TURN client and the server (RFC 8656 §3.1): UDP or TCP.</summary>
public enum ClientTransport
{
    Udp,
    Tcp,
}

/// <summary>
/// The 5-tuple that identifies an allocation (RFC 8656 §2, §5): client address, server address and
/// transport. For TCP the connection already is one 5-tuple.
/// </summary>
public readonly record struct FiveTuple(ClientTransport Transport, IPEndPoint Client, IPEndPoint Server)
{
    public override string ToString() => $"{Transport.ToString().ToLowerInvariant()} {Client}->{Server}";
}

/// <summary>
/// How to reach one client: the socket actor that carries its 5-tuple (the listening <see cref="UdpSocket"/>
/// or the client's <see cref="TcpConnection"/>). Over TCP ChannelData is padded to 4 bytes (RFC 8656 §12.5).
/// </summary>
public sealed record ClientPath(FiveTuple FiveTuple, IActorRef Socket)
{
    public bool IsStream => FiveTuple.Transport == ClientTransport.Tcp;

    public IPEndPoint Client => FiveTuple.Client;

    /// <summary>Sends one message the caller no longer touches.</summary>
    public void Send(ReadOnlyMemory<byte> message, IActorRef sender)
    {
        if (IsStream) Socket.Tell(new TcpConnectionProtocol.Send(message), sender);
        else Socket.Tell(new UdpSocketProtocol.Send(FiveTuple.Client, message), sender);
    }
}
