using System.Net;
using Akka.Actor;

namespace P2P.Actors.Transport;

/// <summary>
/// The one contract between the datagram layers of a session (docs/ARCHITECTURE.md, "The datagram contract"): the ICE
/// <c>Connection</c> carries datagrams on the selected pair, <c>DtlsTransport</c> carries records over it, and
/// <c>SctpAssociation</c> carries its packets over DTLS. Each layer takes <see cref="Send"/> from the layer above and
/// hands what it received to that layer as <see cref="Received"/>, so no layer names the one above it. In the spirit of
/// Akka.Remote's <c>AssociationHandle</c> and pion's <c>net.Conn</c>.
/// </summary>
public static class DatagramProtocol
{
    /// <summary>Down: carry this datagram to the remote. The payload is owned by the message.</summary>
    public sealed record Send(ReadOnlyMemory<byte> Datagram);

    /// <summary>Up: one datagram the layer below received for the layer above. The payload is owned by the message.</summary>
    public sealed record Received(ReadOnlyMemory<byte> Datagram);

    /// <summary>To a layer: from now on hand what it receives to <paramref name="Upper"/> (as <see cref="Received"/>) instead of to its owner.</summary>
    public sealed record Attach(IActorRef Upper);
}

/// <summary>
/// Writes one datagram down from the caller's thread, without a message to the layer below: the direct path a layer
/// may offer the one above it (thread-safe). False when it cannot take this datagram now (no direct route, a relayed
/// pair, consent lost); the caller then tells the layer below <see cref="DatagramProtocol.Send"/>.
/// </summary>
public interface IDatagramWriter
{
    bool TryWrite(ReadOnlySpan<byte> datagram);
}

/// <summary>
/// Hands one received datagram up from the caller's thread (a socket's receive thread), without a message through the
/// layers between: the direct path a layer offers the one below it (thread-safe). False when it does not take it; the
/// datagram then goes the usual way, through the actors.
/// </summary>
public interface IDatagramReceiver
{
    bool TryReceive(ReadOnlySpan<byte> datagram);
}

/// <summary>What a layer is given of the layer below it: the actor that takes <see cref="DatagramProtocol.Send"/>, and the direct writer it may offer.</summary>
public sealed record DatagramLink(IActorRef Lower, IDatagramWriter? Direct = null)
{
    /// <summary>
    /// Writes directly from the caller's bytes (which it may reuse afterwards) when the layer below can take them now,
    /// else tells it <see cref="DatagramProtocol.Send"/> with a copy.
    /// </summary>
    public void Send(ReadOnlySpan<byte> datagram, IActorRef sender)
    {
        if (Direct is { } direct && direct.TryWrite(datagram)) return;
        Lower.Tell(new DatagramProtocol.Send(P2P.Protocol.OwnedBytes.Copy(datagram)), sender);
    }
}

/// <summary>A socket's thread-safe send: one datagram to <paramref name="to"/> from the caller's thread. False when the socket is closed or the send failed (counted).</summary>
public interface IUdpWriter
{
    bool TrySendTo(ReadOnlySpan<byte> datagram, IPEndPoint to);
}

/// <summary>
/// Consulted by a socket's receive thread before a datagram goes to the socket's handler: a datagram it takes has gone
/// straight to the layer that reads it (a session's DTLS), skipping the handler's and the connection's actors.
/// </summary>
public interface IUdpRouter
{
    bool TryRoute(IPEndPoint from, ReadOnlySpan<byte> datagram);
}
