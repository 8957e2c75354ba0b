using System.Net;
using Akka.Actor;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

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
