using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using P2P.Protocol.Turn;

namespace P2P.Actors.Relay;

/// <summary>
/// The fast data path of one UDP allocation on real sockets: relays ChannelData between the client and its bound
/// peers on the threads that received them, with no actor in between, as coturn does. The <see cref="Allocation"/>
/// actor stays in charge: it opens the path once its relayed socket is bound, publishes a new <see cref="RelayRoutes"/>
/// whenever a permission or channel changes, and closes the path when it stops. Whatever this path does not handle
/// (STUN, Send and Data indications, unbound channels, peers without a permission, malformed packets) goes to the
/// actors as before, which answer, count and log it.
/// </summary>
internal sealed class AllocationDataPath(RelayListenerPort listener, SocketAddress client, RelayPort relay)
{
    private volatile RelayRoutes _routes = RelayRoutes.None;
    private long _toPeer, _fromPeer, _sendErrors;

    public RelayListenerPort Listener { get; } = listener;

    /// <summary>The client's transport address (the 5-tuple's client side; the listener is its server side).</summary>
    public SocketAddress Client { get; } = client;

    public RelayPort Relay { get; } = relay;

    public long ToPeer => Interlocked.Read(ref _toPeer);

    public long FromPeer => Interlocked.Read(ref _fromPeer);

    public long SendErrors => Interlocked.Read(ref _sendErrors);

    public void Publish(RelayRoutes routes) => _routes = routes;

    /// <summary>Starts routing: the client's ChannelData and the relayed socket's datagrams come here.</summary>
    public void Open()
    {
        Relay.Owner = this;
        Listener.Add(this);
    }

    public void Close()
    {
        Listener.Remove(this);
        Relay.Owner = null;
        _routes = RelayRoutes.None;
    }

    /// <summary>
    /// On the listener's thread: a ChannelData message from the client (RFC 8656 §12.5) goes to its channel's peer
    /// from the relayed socket. False when the actors should see it (malformed, channel not bound or expired).
    /// </summary>
    public bool TryRelayToPeer(ReadOnlySpan<byte> packet)
    {
        if (!Allocation.TryParseChannelData(packet, out ushort channel, out int length)) return false;
        if (!_routes.TryGetPeer(channel, Environment.TickCount64, out var peer)) return false;
        var socket = Relay.Socket;
        if (socket is null) return false;
        try
        {
            socket.SendTo(packet.Slice(ChannelData.HeaderLength, length), SocketFlags.None, peer);
            Interlocked.Increment(ref _toPeer);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _sendErrors); // as UdpSocket does: counted, the datagram is lost
        }
        catch (ObjectDisposedException)
        {
            // The allocation is closing: its relayed socket is gone, and so is the datagram.
        }
        return true;
    }

    /// <summary>
    /// On the relay poller's thread: a datagram from a peer, received at <c>buffer[4..4+length]</c>, goes to the client
    /// as ChannelData (RFC 8656 §12.6), its header written into <c>buffer[0..4]</c>. False when the actors should see it
    /// (no permission, or no channel: a Data indication).
    /// </summary>
    public bool TryRelayToClient(byte[] buffer, int length, SocketAddress from)
    {
        var routes = _routes;
        long now = Environment.TickCount64;
        if (!routes.IsPermitted(from, now) || !routes.TryGetChannel(from, now, out ushort channel)) return false;
        var socket = Listener.Socket;
        if (socket is null) return false;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, channel);
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)length);
        try
        {
            socket.SendTo(buffer.AsSpan(0, ChannelData.HeaderLength + length), SocketFlags.None, Client);
            Interlocked.Increment(ref _fromPeer);
        }
        catch (SocketException)
        {
            Interlocked.Increment(ref _sendErrors);
        }
        catch (ObjectDisposedException)
        {
            // The listener is being re-created: the datagram is lost, as UDP may lose it.
        }
        return true;
    }
}
