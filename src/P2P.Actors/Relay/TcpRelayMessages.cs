using System.Net;
using System.Net.Sockets;
using Akka.Actor;

namespace P2P.Actors.Relay;

/// <summary>Messages of RFC 6062 TCP allocations: <see cref="TcpRelayListener"/>, <see cref="TcpPeerConnection"/> and their <see cref="Allocation"/>.</summary>
public static class TcpRelayProtocol
{
    /// <summary>The relayed TCP address is listening (told to the allocation).</summary>
    public sealed record Listening(IPEndPoint LocalEndPoint);

    /// <summary>The relayed TCP address could not be bound; the listener stops itself.</summary>
    public sealed record ListenFailed(string Reason);

    /// <summary>A peer connected to the relayed address (RFC 6062 §5.3); the socket now belongs to the allocation.</summary>
    public sealed record PeerAccepted(Socket Socket);

    /// <summary>The Connect's TCP connection to the peer is up (RFC 6062 §5.2); told to the allocation.</summary>
    public sealed record PeerConnected(uint ConnectionId);

    /// <summary>The Connect's TCP connection to the peer failed or timed out (447); the connection actor stops.</summary>
    public sealed record PeerConnectFailed(uint ConnectionId, string Reason);

    /// <summary>The client's data connection for this peer connection is bound: relay bytes both ways.</summary>
    public sealed record Bind(IActorRef DataConnection);

    /// <summary>Bytes from the client's data connection, for the peer; owned by the message.</summary>
    public sealed record FromClient(ReadOnlyMemory<byte> Bytes);

    /// <summary>The client's data connection closed: close the peer's too.</summary>
    public sealed record ClientClosed;

    internal sealed record ConnectDone;

    internal sealed record BindTimedOut;

    internal sealed record PeerEnded(string Reason);

    internal sealed record WriteCompleted(int Bytes);

    internal sealed record AcceptFailed(Exception Error);
}
